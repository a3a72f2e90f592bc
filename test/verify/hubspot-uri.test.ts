import { hubspotUris } from '../../src/verify/providers/hubspot-uri';

describe('hubspotUris()', () => {
  it.each<[string, string[]]>([
    ['https://a.example/hook', ['https://a.example/hook']],
    [
      'https://a.example/hook?t=00%3A00',
      ['https://a.example/hook?t=00%3A00', 'https://a.example/hook?t=00:00'],
    ],
    [
      'https://a.example/hook?m=a%40b%2Cc%3bd',
      ['https://a.example/hook?m=a%40b%2Cc%3bd', 'https://a.example/hook?m=a@b,c;d'],
    ],
    ['https://a.example/hook?q=a%20b%26c', ['https://a.example/hook?q=a%20b%26c']],
  ])('hubspotUris(%s) → as received, and with the listed characters decoded', (url, want) => {
    expect(hubspotUris(url)).toEqual(want);
  });
});
