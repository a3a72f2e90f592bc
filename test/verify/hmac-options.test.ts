import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hmac } from '../../src/verify/providers/hmac';
import { VerifySpecError, type VerifySpec } from '../../src/verify/types';
import { hmacOf, verifyTable, type Case, type Want } from './support';

// Every data option of `provider: hmac`, each shown with a provider's vector expressed as options
// (reference §2): the presets are declarations over the same compiler, and so can a mapping be.
const S1_BODY = readFileSync(join(__dirname, '../fixtures/stripe/event_test_signature.json'));
const S1 = {
  secret: 'webhook_secret',
  t: 1533204620,
  v1: '2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7',
};
const STRIPE_LIKE: Partial<VerifySpec> = {
  header: 'Stripe-Signature',
  separator: ',',
  timestampPrefix: 't=',
  prefix: 'v1=',
  signedContent: '{timestamp}.{body}',
};
const P1 = {
  secret: 'VALID_SECRET',
  ts: 1698796800,
  body: '{"data": ["1", "2"]}',
  h1: 'a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9',
};
const W1 = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  ts: 1614265330,
  body: '{"test": 2432232314}',
};
const W1_SIG = 'g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const SW_LIKE: Partial<VerifySpec> = {
  header: 'webhook-signature',
  separator: ' ',
  prefix: 'v1,',
  encoding: 'base64',
  secretEncoding: 'whsec',
  signedContent: '{id}.{timestamp}.{body}',
  timestampHeader: 'webhook-timestamp',
  idHeader: 'webhook-id',
};
const swHeaders = {
  'webhook-id': W1.id,
  'webhook-timestamp': String(W1.ts),
  'webhook-signature': `v1,${W1_SIG}`,
};
const LINEAR = { secret: 'lin_wh_test_secret', ts: 1767225600000 };
const LINEAR_BODY = `{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},"webhookTimestamp":${LINEAR.ts}}`;
const ZENDESK = {
  secret: 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==',
  ts: '2021-09-21T19:04:56Z',
};
const ZENDESK_BODY = '{"ticket":{"id":35436,"subject":"Help, my printer is on fire!"}}';
const HUBSPOT_URL = 'https://www.example.com/webhook_uri';
const U1_BODY = "{'example_field':'example_value'}";
const Q2 = {
  url: 'https://webhook.site/webhooks',
  body: '{"data":{"type":"webhooks","id":"fake_id"}}',
};

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  {
    situation: 'Stripe S1 as separator + timestampPrefix',
    secrets: [S1.secret],
    spec: { ...STRIPE_LIKE },
    body: S1_BODY,
    headers: { 'Stripe-Signature': `t=${S1.t},v1=${S1.v1},v0=${'0'.repeat(64)}` },
    at: S1.t,
    want: ok,
  },
  {
    situation: 'Stripe S1 clock 301 s later',
    secrets: [S1.secret],
    spec: { ...STRIPE_LIKE },
    body: S1_BODY,
    headers: { 'Stripe-Signature': `t=${S1.t},v1=${S1.v1}` },
    at: S1.t + 301,
    want: { ok: false, reason: /too old/ },
  },
  {
    situation: 'Paddle P1 with ";" and a colon in the content, tolerance 5',
    secrets: [P1.secret],
    spec: {
      header: 'Paddle-Signature',
      separator: ';',
      timestampPrefix: 'ts=',
      prefix: 'h1=',
      signedContent: '{timestamp}:{body}',
      tolerance: 5,
    },
    body: P1.body,
    headers: { 'Paddle-Signature': `ts=${P1.ts};h1=${P1.h1}` },
    at: P1.ts + 5,
    want: ok,
  },
  {
    situation: 'Standard Webhooks W1 with secretEncoding whsec',
    secrets: [W1.secret],
    spec: SW_LIKE,
    body: W1.body,
    headers: swHeaders,
    at: W1.ts,
    want: { ok: true, secretIndex: 0, deliveryId: W1.id },
  },
  {
    situation: 'W1 with secretEncoding base64 and the bare base64 secret',
    secrets: [W1.secret.slice(6)],
    spec: { ...SW_LIKE, secretEncoding: 'base64' },
    body: W1.body,
    headers: swHeaders,
    at: W1.ts,
    want: { ok: true, secretIndex: 0, deliveryId: W1.id },
  },
  {
    situation: 'W1 with secretEncoding utf8 (wrong decoding)',
    secrets: [W1.secret],
    spec: { ...SW_LIKE, secretEncoding: 'utf8' },
    body: W1.body,
    headers: swHeaders,
    at: W1.ts,
    want: mismatch,
  },
  {
    situation: 'Linear with timestampPath and unit ms',
    secrets: [LINEAR.secret],
    spec: {
      header: 'Linear-Signature',
      timestampPath: '$.webhookTimestamp',
      timestampUnit: 'ms',
      tolerance: 60,
    },
    body: LINEAR_BODY,
    headers: {
      'Linear-Signature': 'be2c94a335ee536e6476e7f6f5450c5f89838ae9ac86ac30be0191f644d25459',
    },
    at: 0,
    nowMs: LINEAR.ts + 60_000,
    want: ok,
  },
  {
    situation: 'Linear with timestampPath, 61 s later',
    secrets: [LINEAR.secret],
    spec: {
      header: 'Linear-Signature',
      timestampPath: '$.webhookTimestamp',
      timestampUnit: 'ms',
      tolerance: 60,
    },
    body: LINEAR_BODY,
    headers: {
      'Linear-Signature': 'be2c94a335ee536e6476e7f6f5450c5f89838ae9ac86ac30be0191f644d25459',
    },
    at: 0,
    nowMs: LINEAR.ts + 61_000,
    want: { ok: false, reason: /^timestamp outside the 60 s tolerance \(too old\)$/ },
  },
  {
    situation: 'Zendesk with timestampUnit iso and no separator',
    secrets: [ZENDESK.secret],
    spec: {
      header: 'X-Zendesk-Webhook-Signature',
      encoding: 'base64',
      signedContent: '{timestamp}{body}',
      timestampHeader: 'X-Zendesk-Webhook-Signature-Timestamp',
      timestampUnit: 'iso',
    },
    body: ZENDESK_BODY,
    headers: {
      'X-Zendesk-Webhook-Signature': '8psvOJKjLPxlZQLcWTPQjhlFV1k9m2CnCXHZcBAceSQ=',
      'X-Zendesk-Webhook-Signature-Timestamp': ZENDESK.ts,
    },
    at: Date.parse(ZENDESK.ts) / 1000,
    want: ok,
  },
  {
    situation: 'HubSpot U1 with {method}{url}{body}{timestamp} and publicUrl',
    secrets: ['yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy'],
    spec: {
      header: 'X-HubSpot-Signature-v3',
      encoding: 'base64',
      signedContent: '{method}{url}{body}{timestamp}',
      timestampHeader: 'X-HubSpot-Request-Timestamp',
      timestampUnit: 'ms',
      publicUrl: HUBSPOT_URL,
    },
    body: U1_BODY,
    headers: {
      'X-HubSpot-Signature-v3': 'HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=',
      'X-HubSpot-Request-Timestamp': '15000000',
    },
    at: 0,
    nowMs: 15000000,
    want: ok,
  },
  {
    situation: 'Square Q2 with {url}{body} and the received URL',
    secrets: ['signature-key'],
    spec: {
      header: 'x-square-hmacsha256-signature',
      encoding: 'base64',
      signedContent: '{url}{body}',
    },
    body: Q2.body,
    url: Q2.url,
    headers: { 'x-square-hmacsha256-signature': 'W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA=' },
    want: ok,
  },
  {
    situation: 'a {header:X-Account} value in the content',
    secrets: ['acct-secret'],
    spec: { header: 'X-Sig', signedContent: '{header:X-Account}.{body}' },
    headers: { 'X-Sig': hmacOf('acct-secret', 'acme.{"a":1}'), 'X-Account': 'acme' },
    want: ok,
  },
  {
    situation: 'a {header:X-Account} value changed',
    secrets: ['acct-secret'],
    spec: { header: 'X-Sig', signedContent: '{header:X-Account}.{body}' },
    headers: { 'X-Sig': hmacOf('acct-secret', 'acme.{"a":1}'), 'X-Account': 'evil' },
    want: mismatch,
  },
  {
    situation: 'the {header:X-Account} header missing',
    secrets: ['acct-secret'],
    spec: { header: 'X-Sig', signedContent: '{header:X-Account}.{body}' },
    headers: { 'X-Sig': hmacOf('acct-secret', 'acme.{"a":1}') },
    want: { ok: false, reason: /^missing X-Account header$/ },
  },
  {
    situation: 'several signatures with a separator and no prefix, valid last',
    secrets: ['multi-secret'],
    spec: { header: 'X-Sigs', separator: ',' },
    headers: { 'X-Sigs': `${'0'.repeat(64)}, ${hmacOf('multi-secret', '{"a":1}')}` },
    want: ok,
  },
];

verifyTable(
  'hmac',
  hmac,
  { secrets: ['s3cret'], body: '{"a":1}', headers: {}, at: 1767225600 },
  rows,
);

describe('hmac() option combinations', () => {
  it.each<[string, Partial<VerifySpec>, RegExp]>([
    [
      'timestampPrefix without separator',
      { header: 'X-Sig', timestampPrefix: 't=', signedContent: '{timestamp}.{body}' },
      /timestampPrefix needs separator/,
    ],
    [
      'timestampHeader and timestampPath',
      {
        header: 'X-Sig',
        timestampHeader: 'X-Ts',
        timestampPath: '$.ts',
        signedContent: '{timestamp}.{body}',
      },
      /only one of/,
    ],
    [
      'timestampPath with {timestamp}',
      { header: 'X-Sig', timestampPath: '$.ts', signedContent: '{timestamp}.{body}' },
      /neither timestampHeader nor timestampPrefix/,
    ],
    [
      'a timestampPath that is not a plain path',
      { header: 'X-Sig', timestampPath: '$..ts' },
      /plain path/,
    ],
    [
      'tolerance without a timestamp',
      { header: 'X-Sig', tolerance: 60 },
      /need a signed timestamp/,
    ],
    [
      'timestampUnit without a timestamp',
      { header: 'X-Sig', timestampUnit: 'ms' },
      /need a signed timestamp/,
    ],
    [
      'publicUrl without {url}',
      { header: 'X-Sig', publicUrl: 'https://example.com/hooks/x' },
      /no \{url\}/,
    ],
    [
      'an unknown secretEncoding',
      { header: 'X-Sig', secretEncoding: 'hex' as 'utf8' },
      /secretEncoding must be one of/,
    ],
    [
      'an unknown timestampUnit',
      {
        header: 'X-Sig',
        timestampHeader: 'X-Ts',
        signedContent: '{timestamp}{body}',
        timestampUnit: 'ns' as 's',
      },
      /timestampUnit must be one of/,
    ],
    ['an empty separator', { header: 'X-Sig', separator: '' }, /must not be empty/],
    [
      'a {header:} placeholder with a bad name',
      { header: 'X-Sig', signedContent: '{header:X Bad}{body}' },
      /unknown placeholder/,
    ],
    [
      'a secret that is not base64 with secretEncoding base64',
      { header: 'X-Sig', secretEncoding: 'base64', secrets: ['not base64!'] },
      /secret #1 is empty or malformed \(expected base64\)/,
    ],
  ])('hmac() with %s → throws VerifySpecError', (_situation, options, message) => {
    const build = () => hmac({ provider: 'hmac', secrets: ['s3cret'], ...options });
    expect(build).toThrow(VerifySpecError);
    expect(build).toThrow(message);
  });
});
