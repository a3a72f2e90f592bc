import { createVerifier } from '../../src/verify/create-verifier';
import { PRESET_OPTIONS } from '../../src/verify/preset-options';
import { needsSecret, PROVIDERS, type Provider } from '../../src/verify/provider-names';
import { VerifySpecError, type VerifySpec } from '../../src/verify/types';
import { request } from './support';

const WHSEC = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const SPECS: Record<Provider, VerifySpec> = {
  github: { provider: 'github', secrets: ['s3cret-gh'], legacy: true },
  stripe: { provider: 'stripe', secrets: ['whsec_test_secret'] },
  'standard-webhooks': { provider: 'standard-webhooks', secrets: [WHSEC] },
  svix: { provider: 'svix', secrets: [WHSEC] },
  gitlab: { provider: 'gitlab', secrets: ['gl-token', WHSEC] },
  slack: { provider: 'slack', secrets: ['s3cret-slack'] },
  shopify: { provider: 'shopify', secrets: ['s3cret-shop'] },
  twilio: { provider: 'twilio', secrets: ['twilio-token'] },
  typeform: { provider: 'typeform', secrets: ['s3cret-tf'] },
  tally: { provider: 'tally', secrets: ['s3cret-tally'] },
  linear: { provider: 'linear', secrets: ['s3cret-linear'] },
  paddle: { provider: 'paddle', secrets: ['pdl_ntfset_x'] },
  square: { provider: 'square', secrets: ['sq-key'] },
  zendesk: { provider: 'zendesk', secrets: ['zd-secret'] },
  hubspot: { provider: 'hubspot', secrets: ['hs-secret'], legacy: true },
  intercom: { provider: 'intercom', secrets: ['ic-secret'] },
  mailgun: { provider: 'mailgun', secrets: ['key-mailgun'] },
  calendly: { provider: 'calendly', secrets: ['cal-key'] },
  calcom: { provider: 'calcom', secrets: ['calcom-secret'] },
  webflow: { provider: 'webflow', secrets: ['wf-secret'] },
  hmac: {
    provider: 'hmac',
    secrets: ['s3cret-hmac'],
    header: 'X-Sig',
    timestampHeader: 'X-Ts',
    signedContent: '{timestamp}.{url}.{header:X-Acct}.{body}',
  },
  token: { provider: 'token', secrets: ['s3cret-token'], header: 'Authorization' },
  basic: { provider: 'basic', secrets: ['pw'], username: 'u' },
  none: { provider: 'none', secrets: [] },
};

const HEADERS = [
  'x-hub-signature-256',
  'x-hub-signature',
  'stripe-signature',
  'webhook-signature',
  'webhook-id',
  'webhook-timestamp',
  'svix-signature',
  'svix-id',
  'svix-timestamp',
  'x-gitlab-token',
  'x-slack-signature',
  'x-slack-request-timestamp',
  'x-shopify-hmac-sha256',
  'x-twilio-signature',
  'typeform-signature',
  'tally-signature',
  'linear-signature',
  'paddle-signature',
  'x-square-hmacsha256-signature',
  'x-zendesk-webhook-signature',
  'x-zendesk-webhook-signature-timestamp',
  'x-hubspot-signature-v3',
  'x-hubspot-request-timestamp',
  'x-hubspot-signature',
  'x-hubspot-signature-version',
  'calendly-webhook-signature',
  'x-cal-signature-256',
  'x-webflow-signature',
  'x-webflow-timestamp',
  'x-sig',
  'x-ts',
  'authorization',
];
const fill = (value: string) => Object.fromEntries(HEADERS.map((h) => [h, value]));

// Garbage an attacker can send: every verifier must answer {ok:false}, never throw.
const HOSTILE: { headers: Record<string, string>; body: string; url?: string }[] = [
  { headers: {}, body: '\u00ff{' },
  { headers: fill(''), body: '' },
  { headers: fill(' '), body: '{"signature": null}' },
  { headers: fill(',,,=,t=,v1;ts=;h1='), body: '{"signature": {"timestamp": [], "token": {}}}' },
  { headers: fill('t=99999999999999999999,v1=zz'), body: 'timestamp=1&token=2&signature=3' },
  { headers: fill('v0=\u0000 v1,%%% sha256=♥ sha1='), body: '{"webhookTimestamp": "x"}' },
  { headers: fill('Basic Og== '), body: '[1,2', url: 'not a url' },
  {
    headers: fill('1e9'),
    body: '{"__proto__": {"webhookTimestamp": 1}}',
    url: 'https://[::1/x?bodySHA256=%zz',
  },
  {
    headers: { ...fill('-1'), 'x-hubspot-signature-version': 'v2' },
    body: '\u0000',
    url: 'https://a:b@c:99999/?',
  },
];

describe('createVerifier()', () => {
  it.each(PROVIDERS.filter((p) => p !== 'none'))(
    'createVerifier() for %s with hostile headers and bodies → rejects without throwing',
    (provider) => {
      const verify = createVerifier(SPECS[provider]);
      for (const { headers, body, url } of HOSTILE) {
        const result = verify(request({ body, headers, url, at: 1767225600 }));
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
    ['none with a secret', { provider: 'none', secrets: ['x'] }, /"none" takes no secret/],
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
    [
      'github with tolerance (it signs no timestamp)',
      { provider: 'github', secrets: ['x'], tolerance: 60 },
      /option "tolerance" is not used by provider "github" \(it takes legacy\)/,
    ],
    [
      'shopify with tolerance',
      { provider: 'shopify', secrets: ['x'], tolerance: 60 },
      /"tolerance" is not used by provider "shopify" \(it takes only secret\(s\)\)/,
    ],
    [
      'stripe with a header option',
      { provider: 'stripe', secrets: ['x'], header: 'X-Other' },
      /"header" is not used by provider "stripe"/,
    ],
    [
      'square with legacy',
      { provider: 'square', secrets: ['x'], legacy: true },
      /"legacy" is not used/,
    ],
    [
      'twilio with tolerance',
      { provider: 'twilio', secrets: ['x'], tolerance: 10 },
      /"tolerance" is not used/,
    ],
    [
      'token with publicUrl',
      { provider: 'token', secrets: ['x'], publicUrl: 'https://a.example/h' },
      /"publicUrl" is not used/,
    ],
    ['basic without username', { provider: 'basic', secrets: ['x'] }, /username/],
  ])('createVerifier() with %s → throws VerifySpecError', (_situation, spec, message) => {
    expect(() => createVerifier(spec)).toThrow(VerifySpecError);
    expect(() => createVerifier(spec)).toThrow(message);
  });

  it.each(PROVIDERS.filter((p) => p !== 'hmac'))(
    'createVerifier() for %s with every option it declares → builds',
    (provider) => {
      const values: Partial<VerifySpec> = {
        tolerance: 120,
        publicUrl: 'https://hooks.example.com/hooks/x',
        legacy: true,
        username: 'u',
        header: 'X-Token',
      };
      const options = Object.fromEntries(PRESET_OPTIONS[provider].map((key) => [key, values[key]]));
      expect(typeof createVerifier({ ...SPECS[provider], ...options })).toBe('function');
    },
  );

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
