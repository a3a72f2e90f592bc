import { queryOf, resolvePublicUrl } from '../../src/verify/public-url';

describe('resolvePublicUrl()', () => {
  it.each<[string | undefined, string, string]>([
    [undefined, 'http://10.0.0.1:3000/hooks/t?a=1', 'http://10.0.0.1:3000/hooks/t?a=1'],
    [
      'https://hooks.example.com/twilio',
      'http://10.0.0.1:3000/hooks/t?a=1&b=%20',
      'https://hooks.example.com/twilio?a=1&b=%20',
    ],
    [
      'https://hooks.example.com/twilio',
      'http://10.0.0.1:3000/hooks/t',
      'https://hooks.example.com/twilio',
    ],
  ])('resolvePublicUrl(%s)(%s) → %s', (publicUrl, received, want) => {
    expect(resolvePublicUrl(publicUrl)(received)).toBe(want);
  });

  it.each([
    'hooks.example.com/x',
    'ftp://a.example/x',
    'https://a.example/x#frag',
    'https://a.example/x?q',
  ])('resolvePublicUrl(%s) → throws at load', (publicUrl) => {
    expect(() => resolvePublicUrl(publicUrl)).toThrow(/publicUrl/);
  });
});

describe('queryOf()', () => {
  it.each([
    ['https://a/x?b=1', '?b=1'],
    ['https://a/x', ''],
    ['https://a/x?', '?'],
  ])('queryOf(%s) → %j', (url, want) => {
    expect(queryOf(url)).toBe(want);
  });
});
