import { hmac } from '../../src/verify/providers/hmac';
import { VerifySpecError, type VerifySpec } from '../../src/verify/types';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// Vectors from reference §2: GitHub G1/G5, Shopify H1 and Slack L1 expressed through the generic
// options (VERIFIED/DERIVED there), plus DERIVED Typeform, Cal.com and Intercom fixtures.
const G1 = { secret: "It's a Secret to Everybody", body: 'Hello, World!' };
const G1_HEX = '757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
const TYPEFORM_BODY =
  '{"event_id":"01ABCDEF","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15"}}';
const CALCOM_BODY =
  '{"triggerEvent":"BOOKING_CREATED","createdAt":"2026-01-01T00:00:00.000Z","payload":{}}';
const INTERCOM_BODY =
  '{"type":"notification_event","topic":"ping","id":"notif_1","data":{"item":{"type":"ping","message":"something"}}}';
const L1 = {
  secret: '8f742231b10e8888abcd99yyyzzz85a5',
  ts: 1531420618,
  body: 'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
};
const L1_SIG = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
const AT = 1767225600;

const GITHUB_LIKE = { header: 'X-Hub-Signature-256', prefix: 'sha256=' };
const SLACK_LIKE = {
  header: 'X-Slack-Signature',
  prefix: 'v0=',
  signedContent: 'v0:{timestamp}:{body}',
  timestampHeader: 'X-Slack-Request-Timestamp',
};
const ID_SIGNED = { header: 'X-Sig', signedContent: '{id}.{body}', idHeader: 'X-Id' };
const slackHeaders = (ts: number) => ({
  'X-Slack-Signature': L1_SIG,
  'X-Slack-Request-Timestamp': String(ts),
});

interface Row {
  situation: string;
  options: Partial<VerifySpec>;
  secrets: string[];
  body: string | Buffer;
  headers: Record<string, string>;
  at?: number;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows = labelled<Row>([
  {
    situation: 'GitHub G1 as header + prefix',
    options: GITHUB_LIKE,
    secrets: [G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature-256': `sha256=${G1_HEX}` },
    want: ok,
  },
  {
    situation: 'GitHub legacy G5 with algorithm sha1',
    options: { header: 'X-Hub-Signature', prefix: 'sha1=', algorithm: 'sha1' },
    secrets: [G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature': 'sha1=01dc10d0c83e72ed246219cdd91669667fe2ca59' },
    want: ok,
  },
  {
    situation: 'Shopify H1 with encoding base64',
    options: { header: 'X-Shopify-Hmac-Sha256', encoding: 'base64' },
    secrets: ['test_secret_key'],
    body: '{"foo": "bar"}',
    headers: { 'X-Shopify-Hmac-Sha256': 'B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=' },
    want: ok,
  },
  {
    situation: 'Slack L1 with a signedContent template and timestampHeader',
    options: SLACK_LIKE,
    secrets: [L1.secret],
    body: L1.body,
    headers: slackHeaders(L1.ts),
    at: L1.ts,
    want: ok,
  },
  {
    situation: 'Typeform (sha256= prefix, base64)',
    options: { header: 'Typeform-Signature', prefix: 'sha256=', encoding: 'base64' },
    secrets: ['typeform_test_secret'],
    body: TYPEFORM_BODY,
    headers: { 'Typeform-Signature': 'sha256=DrQi+CDlw8tGo6EcQHZHHRZ0vuEHZLx6IwsfeHyI4hs=' },
    want: ok,
  },
  {
    situation: 'Cal.com (defaults only)',
    options: { header: 'X-Cal-Signature-256' },
    secrets: ['calcom_secret'],
    body: CALCOM_BODY,
    headers: {
      'X-Cal-Signature-256': '7132272acdd8f234e9947f02925340906bad1866e66f6fa351740355fa7dd749',
    },
    want: ok,
  },
  {
    situation: 'Intercom (sha1= prefix, sha1)',
    options: { header: 'X-Hub-Signature', prefix: 'sha1=', algorithm: 'sha1' },
    secrets: ['intercom_client_secret'],
    body: INTERCOM_BODY,
    headers: { 'X-Hub-Signature': 'sha1=16c20c65daa739ff7b2f5fa283cb6b34ba90358f' },
    want: ok,
  },
  {
    situation: 'algorithm sha512',
    options: { header: 'X-Sig', algorithm: 'sha512' },
    secrets: ['s3cret-512'],
    body: G1.body,
    headers: { 'X-Sig': hmacOf('s3cret-512', G1.body, 'hex', 'sha512') },
    want: ok,
  },
  {
    situation: 'idHeader signed through {id}',
    options: ID_SIGNED,
    secrets: ['id-secret'],
    body: G1.body,
    headers: { 'X-Sig': hmacOf('id-secret', `evt_1.${G1.body}`), 'X-Id': 'evt_1' },
    want: { ok: true, secretIndex: 0, deliveryId: 'evt_1' },
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    options: GITHUB_LIKE,
    secrets: ['old', G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature-256': `sha256=${G1_HEX}` },
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'timestamp just inside the window, 300 s before',
    options: SLACK_LIKE,
    secrets: [L1.secret],
    body: L1.body,
    headers: slackHeaders(L1.ts),
    at: L1.ts - 300,
    want: ok,
  },
  {
    situation: 'timestamp 301 s old',
    options: SLACK_LIKE,
    secrets: [L1.secret],
    body: L1.body,
    headers: slackHeaders(L1.ts),
    at: L1.ts + 301,
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'timestamp 301 s ahead',
    options: SLACK_LIKE,
    secrets: [L1.secret],
    body: L1.body,
    headers: slackHeaders(L1.ts),
    at: L1.ts - 301,
    want: {
      ok: false,
      reason: /^timestamp outside the 300 s tolerance \(too far in the future\)$/,
    },
  },
  {
    situation: 'timestamp 31 s old with tolerance 30',
    options: { ...SLACK_LIKE, tolerance: 30 },
    secrets: [L1.secret],
    body: L1.body,
    headers: slackHeaders(L1.ts),
    at: L1.ts + 31,
    want: { ok: false, reason: /^timestamp outside the 30 s tolerance \(too old\)$/ },
  },
  {
    situation: 'no timestamp header',
    options: SLACK_LIKE,
    secrets: [L1.secret],
    body: L1.body,
    headers: { 'X-Slack-Signature': L1_SIG },
    at: L1.ts,
    want: { ok: false, reason: /^missing X-Slack-Request-Timestamp header$/ },
  },
  {
    situation: 'no id header when {id} is signed',
    options: ID_SIGNED,
    secrets: ['id-secret'],
    body: G1.body,
    headers: { 'X-Sig': hmacOf('id-secret', `evt_1.${G1.body}`) },
    want: { ok: false, reason: /^missing X-Id header$/ },
  },
  {
    situation: 'one body byte flipped',
    options: GITHUB_LIKE,
    secrets: [G1.secret],
    body: flipByte(G1.body, 0),
    headers: { 'X-Hub-Signature-256': `sha256=${G1_HEX}` },
    want: mismatch,
  },
  {
    situation: 'a wrong secret',
    options: GITHUB_LIKE,
    secrets: ['nope-nope'],
    body: G1.body,
    headers: { 'X-Hub-Signature-256': `sha256=${G1_HEX}` },
    want: mismatch,
  },
  {
    situation: 'uppercase hex',
    options: GITHUB_LIKE,
    secrets: [G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature-256': `sha256=${G1_HEX.toUpperCase()}` },
    want: mismatch,
  },
  {
    situation: 'hex expected but base64 sent',
    options: { header: 'X-Cal-Signature-256' },
    secrets: ['calcom_secret'],
    body: CALCOM_BODY,
    headers: { 'X-Cal-Signature-256': hmacOf('calcom_secret', CALCOM_BODY, 'base64') },
    want: mismatch,
  },
  {
    situation: 'the body re-serialized',
    options: { header: 'X-Shopify-Hmac-Sha256', encoding: 'base64' },
    secrets: ['test_secret_key'],
    body: '{"foo":"bar"}',
    headers: { 'X-Shopify-Hmac-Sha256': 'B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=' },
    want: mismatch,
  },
  {
    situation: 'the prefix missing',
    options: GITHUB_LIKE,
    secrets: [G1.secret],
    body: G1.body,
    headers: { 'X-Hub-Signature-256': G1_HEX },
    want: {
      ok: false,
      reason: /^malformed X-Hub-Signature-256 header \(expected sha256=<signature>\)$/,
    },
  },
  {
    situation: 'no signature header',
    options: GITHUB_LIKE,
    secrets: [G1.secret],
    body: G1.body,
    headers: {},
    want: { ok: false, reason: /^missing X-Hub-Signature-256 header$/ },
  },
]);

describe('hmac()', () => {
  it.each(rows)(
    'hmac() with $situation → $result',
    ({ options, secrets, body, headers, at = AT, want }) => {
      const result = hmac({ provider: 'hmac', secrets, ...options })(
        request({ body, headers, at }),
      );
      if (want.ok) {
        expect(result).toEqual(want);
        return;
      }
      const expected = secrets.flatMap((s) => [hmacOf(s, body), hmacOf(s, body, 'base64')]);
      expect(reasonOf(result, [...secrets, ...expected, G1_HEX, ...received(headers)])).toMatch(
        want.reason,
      );
    },
  );

  it.each<[string, Partial<VerifySpec>, RegExp]>([
    ['no header', {}, /"header" is required/],
    [
      'an unknown algorithm',
      { header: 'X-Sig', algorithm: 'md5' as 'sha1' },
      /algorithm must be one of/,
    ],
    [
      'an unknown encoding',
      { header: 'X-Sig', encoding: 'base32' as 'hex' },
      /encoding must be one of/,
    ],
    [
      'an unknown placeholder',
      { header: 'X-Sig', signedContent: '{uri}{body}' },
      /unknown placeholder \{uri\}/,
    ],
    ['an unbalanced brace', { header: 'X-Sig', signedContent: '{body}}' }, /unbalanced/],
    [
      'a template without {body}',
      { header: 'X-Sig', signedContent: 'static' },
      /must include \{body\}/,
    ],
    [
      '{timestamp} without timestampHeader',
      { header: 'X-Sig', signedContent: '{timestamp}.{body}' },
      /neither timestampHeader nor timestampPrefix is set/,
    ],
    [
      'timestampHeader without {timestamp}',
      { header: 'X-Sig', timestampHeader: 'X-Ts' },
      /no \{timestamp\}/,
    ],
    [
      '{id} without idHeader',
      { header: 'X-Sig', signedContent: '{id}{body}' },
      /idHeader is not set/,
    ],
    [
      'a negative tolerance',
      { ...SLACK_LIKE, header: 'X-Sig', tolerance: -1 },
      /tolerance must be/,
    ],
    ['an empty secret', { header: 'X-Sig', secrets: [''] }, /secret #1 is empty/],
  ])('hmac() with %s → throws VerifySpecError', (_situation, options, message) => {
    const build = () => hmac({ provider: 'hmac', secrets: ['s3cret'], ...options });
    expect(build).toThrow(VerifySpecError);
    expect(build).toThrow(message);
  });
});
