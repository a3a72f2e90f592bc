import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { stripe } from '../../src/verify/providers/stripe';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// S1: stripe-dotnet EventUtilityTest, over the exact 484-byte fixture (LF endings, trailing LF).
const S1_BODY = readFileSync(join(__dirname, '../fixtures/stripe/event_test_signature.json'));
const S1_T = 1533204620;
const S1_V1 = '2220f87ef101a04665f11cdf770523143f875572008577fa0f20882ddb9cc3c7';
const S1_V0 = '63f3a72374a733066c4be69ed7f8e5ac85c22c9f0a6a612ab9a025a9e4ee7eef';
const S1_HEADER = `t=${S1_T},v1=${S1_V1},v0=${S1_V0}`;
// S2 (DERIVED): the SDK tests' `whsec_test_secret`, used as a literal UTF-8 key.
const S2 = {
  secret: 'whsec_test_secret',
  t: 1700000000,
  body: '{"id":"evt_test_webhook","object":"event"}',
};
const S2_V1 = 'd95c6b7477fbd7e9f90b1b0ef5f9c7ac25abca5382460e0d988c2b2a5b71b990';
const NON_ASCII = '{"id":"evt_ü","description":"Café ☕ für Zoë"}';
const DEAD = 'deadbeef'.repeat(8);

interface Row {
  situation: string;
  secrets?: string[];
  tolerance?: number;
  body?: string | Buffer;
  header?: string;
  at?: number;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const noTimestamp: Want = { ok: false, reason: /^no timestamp in Stripe-Signature header$/ };
const tooOld: Want = { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ };
const tooNew: Want = {
  ok: false,
  reason: /^timestamp outside the 300 s tolerance \(too far in the future\)$/,
};

const rows = labelled<Row>([
  { situation: 'S1 vector, clock at t', want: ok },
  { situation: 'S1 vector, clock at t + 100 s', at: S1_T + 100, want: ok },
  { situation: 'S1 vector without the v0 entry', header: `t=${S1_T},v1=${S1_V1}`, want: ok },
  {
    situation: 'S2 vector (whsec_ key used as a string)',
    secrets: [S2.secret],
    body: S2.body,
    header: `t=${S2.t},v1=${S2_V1}`,
    at: S2.t,
    want: ok,
  },
  {
    situation: 'S1 and secrets [wrong, right] (rotation)',
    secrets: ['whsec_old', 'webhook_secret'],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'valid v1 first of three',
    header: `t=${S1_T},v1=${S1_V1},v1=${DEAD},v1=${DEAD}`,
    want: ok,
  },
  {
    situation: 'valid v1 in the middle of three',
    header: `t=${S1_T},v1=${DEAD},v1=${S1_V1},v1=${DEAD}`,
    want: ok,
  },
  {
    situation: 'valid v1 last of three',
    header: `t=${S1_T},v1=${DEAD},v1=${DEAD},v1=${S1_V1}`,
    want: ok,
  },
  {
    situation: 'entries in another order (v0 first, t last)',
    header: `v0=${S1_V0},v1=${S1_V1},t=${S1_T}`,
    want: ok,
  },
  { situation: 'clock just inside the window, 300 s after t', at: S1_T + 300, want: ok },
  { situation: 'clock just inside the window, 300 s before t', at: S1_T - 300, want: ok },
  {
    situation: 'clock a year later with tolerance 0 (check off)',
    tolerance: 0,
    at: S1_T + 31536000,
    want: ok,
  },
  { situation: 'clock 301 s after t', at: S1_T + 301, want: tooOld },
  { situation: 'clock 400 s after t (stripe-dotnet case)', at: S1_T + 400, want: tooOld },
  { situation: 'clock 301 s before t', at: S1_T - 301, want: tooNew },
  {
    situation: 'clock 61 s after t with tolerance 60',
    tolerance: 60,
    at: S1_T + 61,
    want: { ok: false, reason: /^timestamp outside the 60 s tolerance \(too old\)$/ },
  },
  {
    situation: 'S1 fixture without its trailing newline',
    body: S1_BODY.subarray(0, -1),
    want: mismatch,
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    header: `t=${S1_T},v1=${hmacOf('webhook_secret', `${S1_T}.${NON_ASCII}`)}`,
    want: ok,
  },
  {
    situation: 'S2 signed with the whsec_ secret base64-decoded (wrong decoding)',
    secrets: [S2.secret],
    body: S2.body,
    header: `t=${S2.t},v1=${hmacOf(Buffer.from(S2.secret.slice(6), 'base64'), `${S2.t}.${S2.body}`)}`,
    at: S2.t,
    want: mismatch,
  },
  { situation: 'one body byte flipped', body: flipByte(S1_BODY, 10), want: mismatch },
  {
    situation: 'S1 fixture re-serialized as compact JSON',
    body: JSON.stringify(JSON.parse(S1_BODY.toString())),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['whsec_not_it'], want: mismatch },
  {
    situation: 'a timestamp changed by one second',
    header: `t=${S1_T + 1},v1=${S1_V1}`,
    want: mismatch,
  },
  { situation: 'uppercase hex', header: `t=${S1_T},v1=${S1_V1.toUpperCase()}`, want: mismatch },
  {
    situation: 'only the v0 entry',
    header: `t=${S1_T},v0=${S1_V0}`,
    want: { ok: false, reason: /^no v1 signature in Stripe-Signature header$/ },
  },
  {
    situation: 'the valid digest under an unknown v2 scheme',
    header: `t=${S1_T},v2=${S1_V1}`,
    want: { ok: false, reason: /^no v1 signature in Stripe-Signature header$/ },
  },
  {
    situation: 'no t entry',
    header: `v1=${S1_V1}`,
    want: noTimestamp,
  },
  {
    situation: 'two t entries',
    header: `t=${S1_T},t=${S1_T},v1=${S1_V1}`,
    want: { ok: false, reason: /^malformed Stripe-Signature header \(more than one timestamp\)$/ },
  },
  {
    situation: 'a non-numeric t',
    header: `t=yesterday,v1=${S1_V1}`,
    want: {
      ok: false,
      reason:
        /^malformed timestamp in Stripe-Signature header \(expected seconds since the epoch\)$/,
    },
  },
  { situation: 'a garbage header', header: 'not a signature', want: noTimestamp },
  { situation: 'an empty header', header: '', want: noTimestamp },
  // stripe-node skips empty entries; so do we.
  { situation: 'a trailing comma', header: `${S1_HEADER},`, want: ok },
  { situation: 'spaces around the entries', header: ` t=${S1_T} , v1=${S1_V1} `, want: ok },
  {
    situation: 'the v1 key in upper case (V1=)',
    header: `t=${S1_T},V1=${S1_V1}`,
    want: { ok: false, reason: /^no v1 signature in Stripe-Signature header$/ },
  },
  {
    situation: 'no Stripe-Signature header',
    header: undefined,
    want: { ok: false, reason: /^missing Stripe-Signature header$/ },
  },
]);

describe('stripe()', () => {
  it.each(rows)('stripe() with $situation → $result', (row) => {
    const { secrets = ['webhook_secret'], tolerance, body = S1_BODY, at = S1_T, want } = row;
    const header = 'header' in row ? row.header : S1_HEADER;
    const headers: Record<string, string> =
      header === undefined ? {} : { 'Stripe-Signature': header };
    const result = stripe({ provider: 'stripe', secrets, tolerance })(
      request({ body, headers, at }),
    );
    if (want.ok) {
      expect(result).toEqual(want);
      return;
    }
    const t = /t=(\d+)/.exec(header ?? '')?.[1] ?? String(S1_T);
    const expected = secrets.map((s) =>
      hmacOf(s, Buffer.concat([Buffer.from(`${t}.`), Buffer.from(body)])),
    );
    expect(reasonOf(result, [...secrets, ...expected, S1_V1, ...received(headers)])).toMatch(
      want.reason,
    );
  });
});
