import { linear } from '../../src/verify/providers/linear';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.10): hex HMAC-SHA256 of the body; webhookTimestamp (ms) is inside it.
const SECRET = 'lin_wh_test_secret';
const TS = 1767225600000;
const BODY = `{"action":"create","type":"Issue","data":{"id":"2174add1-f7c8-44e3-bbf3-2d60b5ea8bc9"},"webhookTimestamp":${TS}}`;
const SIG = 'be2c94a335ee536e6476e7f6f5450c5f89838ae9ac86ac30be0191f644d25459';
const DELIVERY = '8a3d2c1b-0f9e-4d8c-b7a6-5e4f3d2c1b0a';
const headers = (signature: string) => ({
  'Linear-Signature': signature,
  'Linear-Delivery': DELIVERY,
});
const signedBody = (body: string) => ({ body, headers: headers(hmacOf(SECRET, body)) });

const ok: Want = { ok: true, secretIndex: 0, deliveryId: DELIVERY };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const tooOld: Want = { ok: false, reason: /^timestamp outside the 60 s tolerance \(too old\)$/ };
const tooNew: Want = {
  ok: false,
  reason: /^timestamp outside the 60 s tolerance \(too far in the future\)$/,
};

const rows: Case[] = [
  { situation: 'the DERIVED fixture, clock at the timestamp', want: ok },
  { situation: 'clock 60 s after (edge, inside)', nowMs: TS + 60_000, want: ok },
  { situation: 'clock 60 s before (edge, inside)', nowMs: TS - 60_000, want: ok },
  { situation: 'clock 60.001 s after', nowMs: TS + 60_001, want: tooOld },
  { situation: 'clock 60.001 s before', nowMs: TS - 60_001, want: tooNew },
  {
    situation: 'clock a day later with tolerance 0 (check off)',
    spec: { tolerance: 0 },
    nowMs: TS + 86_400_000,
    want: ok,
  },
  {
    situation: 'clock 5 min later with tolerance 600',
    spec: { tolerance: 600 },
    nowMs: TS + 300_000,
    want: ok,
  },
  {
    situation: 'a signed body without webhookTimestamp',
    ...signedBody('{"action":"create","type":"Issue"}'),
    want: { ok: false, reason: /^missing \$\.webhookTimestamp in the body$/ },
  },
  {
    situation: 'a signed body with webhookTimestamp in seconds as a string',
    ...signedBody('{"action":"create","webhookTimestamp":"1767225600.5"}'),
    want: {
      ok: false,
      reason: /^malformed timestamp at \$\.webhookTimestamp \(expected milliseconds/,
    },
  },
  {
    situation: 'a signed body that is not JSON',
    ...signedBody('action=create'),
    want: { ok: false, reason: /^missing \$\.webhookTimestamp in the body$/ },
  },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['lin_wh_old_secret', SECRET],
    want: { ok: true, secretIndex: 1, deliveryId: DELIVERY },
  },
  {
    situation: 'a non-ASCII body',
    ...signedBody(`{"type":"Comment","data":{"body":"Ça marche ✓"},"webhookTimestamp":${TS}}`),
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 3), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['lin_wh_wrong_secret'], want: mismatch },
  { situation: 'upper-case hex', headers: headers(SIG.toUpperCase()), want: mismatch },
  {
    situation: 'an empty Linear-Signature',
    headers: headers(''),
    want: { ok: false, reason: /^malformed Linear-Signature header/ },
  },
  {
    situation: 'no Linear-Signature',
    headers: { 'Linear-Delivery': DELIVERY },
    want: { ok: false, reason: /^missing Linear-Signature header$/ },
  },
];

verifyTable(
  'linear',
  linear,
  { secrets: [SECRET], body: BODY, headers: headers(SIG), at: 0, nowMs: TS },
  rows,
  (r) => r.secrets.map((s) => hmacOf(s, r.body)),
);
