import { calcom } from '../../src/verify/providers/calcom';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.17): hex HMAC-SHA256 of the body.
const SECRET = 'calcom_secret';
const BODY =
  '{"triggerEvent":"BOOKING_CREATED","createdAt":"2026-01-01T00:00:00.000Z","payload":{}}';
const SIG = '7132272acdd8f234e9947f02925340906bad1866e66f6fa351740355fa7dd749';
const header = (value: string) => ({ 'X-Cal-Signature-256': value });
const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const NON_ASCII = '{"triggerEvent":"BOOKING_CREATED","payload":{"title":"Rendez-vous à 10 h ☀"}}';

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-calcom-secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: header(hmacOf(SECRET, NON_ASCII)),
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 4), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not_the_calcom_secret'], want: mismatch },
  {
    situation: 'a base64 digest (wrong encoding)',
    headers: header(hmacOf(SECRET, BODY, 'base64')),
    want: mismatch,
  },
  {
    situation: 'the "no-secret-provided" placeholder',
    headers: header('no-secret-provided'),
    want: {
      ok: false,
      reason: /^X-Cal-Signature-256 holds no signature: the Cal.com webhook has no secret set$/,
    },
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing X-Cal-Signature-256 header$/ },
  },
];

verifyTable(
  'calcom',
  calcom,
  { secrets: [SECRET], body: BODY, headers: header(SIG), at: 1767225600 },
  rows,
  (r) => r.secrets.map((s) => hmacOf(s, r.body)),
);
