import {
  hmacDigest,
  safeEqual,
  secretKey,
  tokenEqual,
  type DigestEncoding,
  type HmacAlgorithm,
  type SecretFormat,
} from '../../src/verify/hmac-signature';
import { hmacOf } from './support';

const KEY = Buffer.from("It's a Secret to Everybody");

describe('hmacDigest()', () => {
  it.each<[HmacAlgorithm, DigestEncoding, string]>([
    ['sha256', 'hex', '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17'],
    ['sha1', 'hex', '01dc10d0c83e72ed246219cdd91669667fe2ca59'],
    ['sha256', 'base64', 'dXEH6g6yUJ/CESIczphLijdXC211hsIsRvQ3nIsEPhc='],
    ['sha512', 'hex', hmacOf(KEY, 'Hello, World!', 'hex', 'sha512')],
  ])(
    'hmacDigest(%s, key, parts, %s) over G1 split in three parts → %s',
    (algorithm, encoding, want) => {
      const parts = ['Hello', ', ', 'World!'].map((p) => Buffer.from(p));
      expect(hmacDigest(algorithm, KEY, parts, encoding)).toBe(want);
    },
  );
});

describe('safeEqual()', () => {
  it.each([
    ['equal strings', 'abcdef', 'abcdef', true],
    ['one character different', 'abcdef', 'abcdeF', false],
    ['different lengths (no throw)', 'abcdef', 'abcdefg', false],
    ['empty and non-empty (no throw)', '', 'a', false],
    ['two empty strings', '', '', true],
    ['same length in characters, not in UTF-8 bytes', 'é', 'ab', false],
  ])('safeEqual() with %s → %s', (_situation, a, b, want) => {
    expect(safeEqual(a, b)).toBe(want);
  });
});

describe('tokenEqual()', () => {
  it.each([
    ['equal tokens', 'tok-123', 'tok-123', true],
    ['a prefix of the token', 'tok-12', 'tok-123', false],
    ['a longer token', 'tok-1234', 'tok-123', false],
    ['an empty token', '', 'tok-123', false],
  ])('tokenEqual() with %s → %s', (_situation, received, expected, want) => {
    expect(tokenEqual(received, expected)).toBe(want);
  });
});

describe('secretKey()', () => {
  const W1_KEY = Buffer.from('MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64');
  it.each<[string, string, SecretFormat, Buffer | null]>([
    [
      'a Stripe whsec_ secret as utf8',
      'whsec_test_secret',
      'utf8',
      Buffer.from('whsec_test_secret'),
    ],
    ['a whsec_ secret as whsec', 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec', W1_KEY],
    ['the same secret without the prefix', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'whsec', W1_KEY],
    ['unpadded base64', 'whsec_AAECAw', 'whsec', Buffer.from([0, 1, 2, 3])],
    ['characters outside base64', 'whsec_test_secret', 'whsec', null],
    ['an impossible base64 length', 'whsec_AAECA', 'whsec', null],
    ['only the prefix', 'whsec_', 'whsec', null],
    ['an empty utf8 secret', '', 'utf8', null],
    ['a bare base64 secret as base64', 'MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', 'base64', W1_KEY],
    ['a whsec_ secret as base64 (the prefix is not base64)', 'whsec_MfKQ9r8G', 'base64', null],
    ['a Zendesk-looking key as utf8 (not decoded)', 'dGhpcw==', 'utf8', Buffer.from('dGhpcw==')],
  ])('secretKey() with %s → key bytes or null', (_situation, secret, format, want) => {
    expect(secretKey(secret, format)).toEqual(want);
  });
});
