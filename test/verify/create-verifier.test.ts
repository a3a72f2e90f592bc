import { createVerifier } from '../../src/verify/create-verifier';
import { needsSecret, PROVIDERS } from '../../src/verify/providers';
import { VerifySpecError, type VerifySpec } from '../../src/verify/types';
import { request } from './support';

const SPECS: Record<(typeof PROVIDERS)[number], VerifySpec> = {
  github: { provider: 'github', secrets: ['s3cret-gh'] },
  stripe: { provider: 'stripe', secrets: ['whsec_test_secret'] },
  'standard-webhooks': {
    provider: 'standard-webhooks',
    secrets: ['whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'],
  },
  slack: { provider: 'slack', secrets: ['s3cret-slack'] },
  shopify: { provider: 'shopify', secrets: ['s3cret-shop'] },
  hmac: {
    provider: 'hmac',
    secrets: ['s3cret-hmac'],
    header: 'X-Sig',
    timestampHeader: 'X-Ts',
    signedContent: '{timestamp}.{body}',
  },
  token: { provider: 'token', secrets: ['s3cret-token'], header: 'Authorization' },
  none: { provider: 'none', secrets: [] },
};

// Garbage an attacker can send: every verifier must answer {ok:false}, never throw.
const HOSTILE: Record<string, string>[] = [
  {},
  Object.fromEntries(
    [
      'x-hub-signature-256',
      'stripe-signature',
      'webhook-signature',
      'webhook-id',
      'webhook-timestamp',
      'x-slack-signature',
      'x-slack-request-timestamp',
      'x-shopify-hmac-sha256',
      'x-sig',
      'x-ts',
      'authorization',
    ].map((h) => [h, '']),
  ),
  {
    'stripe-signature': ',,,=,t=,v1',
    'webhook-signature': '   ',
    'webhook-id': '.',
    'webhook-timestamp': '-1',
  },
  {
    'stripe-signature': 't=99999999999999999999,v1=zz',
    'x-slack-signature': 'v0=\u0000',
    'x-slack-request-timestamp': '1e9',
  },
  { 'x-hub-signature-256': 'sha256=♥', 'x-sig': '%%%', 'x-ts': 'NaN', authorization: 'Bearer' },
];

describe('createVerifier()', () => {
  it.each(PROVIDERS.filter((p) => p !== 'none'))(
    'createVerifier() for %s with hostile headers → rejects without throwing',
    (provider) => {
      const verify = createVerifier(SPECS[provider]);
      for (const headers of HOSTILE) {
        const result = verify(request({ body: '\u00ff{', headers, at: 1767225600 }));
        expect(result.ok).toBe(false);
      }
    },
  );

  it.each<[string, VerifySpec, RegExp]>([
    [
      'an unknown provider',
      { provider: 'gitlab-ci', secrets: ['x'] },
      /unknown verify provider "gitlab-ci"/,
    ],
    ['github without secrets', { provider: 'github', secrets: [] }, /"github" needs a secret/],
    ['token without secrets', { provider: 'token', secrets: [] }, /"token" needs a secret/],
    ['hmac without header', { provider: 'hmac', secrets: ['x'] }, /"header" is required/],
    [
      'stripe with a negative tolerance',
      { provider: 'stripe', secrets: ['x'], tolerance: -5 },
      /tolerance/,
    ],
    [
      'standard-webhooks with a non-base64 secret',
      { provider: 'standard-webhooks', secrets: ['whsec_n*t'] },
      /secret #1/,
    ],
  ])('createVerifier() with %s → throws VerifySpecError', (_situation, spec, message) => {
    expect(() => createVerifier(spec)).toThrow(VerifySpecError);
    expect(() => createVerifier(spec)).toThrow(message);
  });

  it('createVerifier() for none without secrets → accepts with secretIndex null', () => {
    const verify = createVerifier({ provider: 'none', secrets: [] });
    expect(verify(request({ body: '', at: 0 }))).toEqual({ ok: true, secretIndex: null });
  });
});

describe('needsSecret()', () => {
  it.each([
    ...PROVIDERS.map((p): [string, boolean] => [p, p !== 'none']),
    ['unknown', false] as [string, boolean],
  ])('needsSecret(%s) → %s', (provider, want) => {
    expect(needsSecret(provider)).toBe(want);
  });
});
