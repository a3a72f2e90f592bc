import { webflow } from '../../src/verify/providers/webflow';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.17): hex HMAC-SHA256 of "<timestamp ms>:<body>".
const SECRET = 'webflow_client_secret';
const TS = 1767225600000;
const BODY =
  '{"triggerType":"form_submission","payload":{"name":"Contact Us","data":{"email":"zaphod@heartofgold.ai"}}}';
const SIG = '8849d9c0a589175ec79fcc371440dfe48794755277aa6ab30905903e9889c118';
const headers = (signature: string, ts: string | number = TS) => ({
  'x-webflow-signature': signature,
  'x-webflow-timestamp': String(ts),
});

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  { situation: 'clock 300 s after (edge, inside)', nowMs: TS + 300_000, want: ok },
  { situation: 'clock 300 s before (edge, inside)', nowMs: TS - 300_000, want: ok },
  {
    situation: 'clock 300.001 s after',
    nowMs: TS + 300_001,
    want: { ok: false, reason: /too old/ },
  },
  {
    situation: 'clock 300.001 s before',
    nowMs: TS - 300_001,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'a timestamp in seconds (read as ms, far in the past)',
    headers: headers(hmacOf(SECRET, `${TS / 1000}:${BODY}`), TS / 1000),
    want: { ok: false, reason: /too old/ },
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 15), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not_the_webflow_secret'], want: mismatch },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old_webflow_secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: '{"payload":{"data":{"message":"Grüß Gott ✉"}}}',
    headers: headers(hmacOf(SECRET, `${TS}:{"payload":{"data":{"message":"Grüß Gott ✉"}}}`)),
    want: ok,
  },
  {
    situation: 'a malformed timestamp',
    headers: headers(SIG, '1767225600000.0'),
    want: {
      ok: false,
      reason:
        /^malformed timestamp in x-webflow-timestamp header \(expected milliseconds since the epoch\)$/,
    },
  },
  {
    situation: 'no timestamp header',
    headers: { 'x-webflow-signature': SIG },
    want: { ok: false, reason: /^missing x-webflow-timestamp header$/ },
  },
  {
    situation: 'no signature header',
    headers: {},
    want: { ok: false, reason: /^missing x-webflow-signature header$/ },
  },
];

verifyTable(
  'webflow',
  webflow,
  { secrets: [SECRET], body: BODY, headers: headers(SIG), at: 0, nowMs: TS },
  rows,
  (r) =>
    r.secrets.map((s) => hmacOf(s, Buffer.concat([Buffer.from(`${TS}:`), Buffer.from(r.body)]))),
);
