import { calendly } from '../../src/verify/providers/calendly';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.17): Stripe-like "t=…,v1=…" over "<t>.<body>", 180 s window.
const KEY = 'calendly_signing_key';
const T = 1767225600;
const BODY = '{"event":"invitee.created","payload":{"email":"test@example.com"}}';
const V1 = 'af6f072b6b4d50b21633207414ae27a9ef7dfec6dcce6ae9f1b8109cf9e0c903';
const DEAD = 'deadbeef'.repeat(8);
const header = (value: string) => ({ 'Calendly-Webhook-Signature': value });

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  { situation: 'clock 180 s after (edge, inside)', at: T + 180, want: ok },
  { situation: 'clock 180 s before (edge, inside)', at: T - 180, want: ok },
  {
    situation: 'clock 181 s after',
    at: T + 181,
    want: { ok: false, reason: /^timestamp outside the 180 s tolerance \(too old\)$/ },
  },
  {
    situation: 'clock 181 s before',
    at: T - 181,
    want: { ok: false, reason: /too far in the future/ },
  },
  { situation: 'valid v1 first of two', headers: header(`t=${T},v1=${V1},v1=${DEAD}`), want: ok },
  {
    situation: 'valid v1 in the middle of three',
    headers: header(`t=${T},v1=${DEAD},v1=${V1},v1=${DEAD}`),
    want: ok,
  },
  {
    situation: 'valid v1 last of three',
    headers: header(`t=${T},v1=${DEAD},v1=${DEAD},v1=${V1}`),
    want: ok,
  },
  {
    situation: 'only an unknown v0 scheme',
    headers: header(`t=${T},v0=${V1}`),
    want: { ok: false, reason: /^no v1 signature in Calendly-Webhook-Signature header$/ },
  },
  {
    situation: 'no t entry',
    headers: header(`v1=${V1}`),
    want: { ok: false, reason: /^no timestamp in Calendly-Webhook-Signature header$/ },
  },
  {
    situation: 'a timestamp one second off',
    headers: header(`t=${T + 1},v1=${V1}`),
    want: mismatch,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 11), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong key', secrets: ['not_the_calendly_key'], want: mismatch },
  {
    situation: 'keys [old, new] (rotation)',
    secrets: ['old_calendly_key', KEY],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: '{"event":"invitee.created","payload":{"name":"José Ñúñez"}}',
    headers: header(
      `t=${T},v1=${hmacOf(KEY, `${T}.{"event":"invitee.created","payload":{"name":"José Ñúñez"}}`)}`,
    ),
    want: ok,
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing Calendly-Webhook-Signature header$/ },
  },
];

verifyTable(
  'calendly',
  calendly,
  { secrets: [KEY], body: BODY, headers: header(`t=${T},v1=${V1}`), at: T },
  rows,
  (r) =>
    r.secrets.map((s) => hmacOf(s, Buffer.concat([Buffer.from(`${T}.`), Buffer.from(r.body)]))),
);
