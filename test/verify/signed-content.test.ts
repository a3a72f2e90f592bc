import { signedContent, type SignedValues } from '../../src/verify/signed-content';
import { VerifySpecError } from '../../src/verify/types';

const VALUES: SignedValues = {
  body: Buffer.from('{"a":1}'),
  timestamp: '1700000000',
  id: 'msg_1',
  method: 'POST',
  url: 'https://a.example/h?x=1',
  headers: { 'x-account': 'acme' },
};

describe('signedContent()', () => {
  it.each([
    ['{body}', '{"a":1}'],
    ['{timestamp}.{body}', '1700000000.{"a":1}'],
    ['{id}.{timestamp}.{body}', 'msg_1.1700000000.{"a":1}'],
    ['v0:{timestamp}:{body}', 'v0:1700000000:{"a":1}'],
    ['{method}{url}{body}{timestamp}', 'POSThttps://a.example/h?x=1{"a":1}1700000000'],
    ['{header:X-Account}|{body}', 'acme|{"a":1}'],
    ['{header:X-Missing}{body}', '{"a":1}'],
  ])('signedContent(%s) → %s', (template, want) => {
    expect(Buffer.concat(signedContent(template).parts(VALUES)).toString()).toBe(want);
  });

  it('signedContent() reports the placeholders and headers it uses', () => {
    const content = signedContent('{method}{url}{header:X-A}{header:X-B}{body}');
    expect([...content.uses].sort()).toEqual(['body', 'method', 'url']);
    expect(content.headers).toEqual(['X-A', 'X-B']);
  });

  it.each([
    ['{uri}{body}', /unknown placeholder \{uri\}/],
    ['{header:}{body}', /unknown placeholder/],
    ['{body}}', /unbalanced/],
    ['{timestamp}', /must include \{body\}/],
  ])('signedContent(%s) → throws VerifySpecError', (template, message) => {
    expect(() => signedContent(template)).toThrow(VerifySpecError);
    expect(() => signedContent(template)).toThrow(message);
  });
});
