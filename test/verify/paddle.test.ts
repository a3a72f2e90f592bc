import { paddle } from '../../src/verify/providers/paddle';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// P1, P2: paddle-node-sdk webhooks-validator.node.test.ts (reference §2.11, VERIFIED).
// ts 1698796800 = 2023-11-01T00:00:00Z; the SDK allows 5 s.
const SECRET = 'VALID_SECRET';
const TS = 1698796800;
const P1_BODY = '{"data": ["1", "2"]}';
const P1_H1 = 'a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9';
const P2_BODY = '{"data": "value"}';
const P2_H1 = '28981e941fae76e53db32f3d2a83cb69db41476595e84e1970a1b5d98f62b261';
const DEAD = 'deadbeef'.repeat(8);
const header = (value: string) => ({ 'Paddle-Signature': value });

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const noTimestamp: Want = { ok: false, reason: /^no timestamp in Paddle-Signature header$/ };

const rows: Case[] = [
  { situation: 'P1, clock at ts', want: ok },
  { situation: 'P1, clock at ts + 1 s (SDK case)', at: TS + 1, want: ok },
  { situation: 'P1, clock at ts + 5 s (edge, inside)', at: TS + 5, want: ok },
  {
    situation: 'P1, clock at ts + 6 s (SDK case)',
    at: TS + 6,
    want: { ok: false, reason: /^timestamp outside the 5 s tolerance \(too old\)$/ },
  },
  { situation: 'P1, clock at ts - 5 s (edge, inside)', at: TS - 5, want: ok },
  {
    situation: 'P1, clock at ts - 6 s',
    at: TS - 6,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'P1, clock at ts + 60 s with tolerance 60',
    spec: { tolerance: 60 },
    at: TS + 60,
    want: ok,
  },
  {
    situation: 'P2, h1 twice and an h2',
    body: P2_BODY,
    headers: header(`ts=${TS};h1=${P2_H1};h1=${P2_H1};h2=RANDOM_HASH`),
    want: ok,
  },
  {
    situation: 'valid h1 first of three',
    headers: header(`ts=${TS};h1=${P1_H1};h1=${DEAD};h1=${DEAD}`),
    want: ok,
  },
  {
    situation: 'valid h1 in the middle',
    headers: header(`ts=${TS};h1=${DEAD};h1=${P1_H1};h1=${DEAD}`),
    want: ok,
  },
  {
    situation: 'valid h1 last (the SDK keeps the last)',
    headers: header(`h1=${DEAD};h1=${P1_H1};ts=${TS}`),
    want: ok,
  },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['pdl_ntfset_old', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: '{"data":{"customer":"Søren ☺"}}',
    headers: header(`ts=${TS};h1=${hmacOf(SECRET, `${TS}:{"data":{"customer":"Søren ☺"}}`)}`),
    want: ok,
  },
  {
    situation: 'the INVALID_VALID_SECRET of the SDK test',
    secrets: ['INVALID_VALID_SECRET'],
    want: mismatch,
  },
  {
    situation: 'ts=9876 (SDK case)',
    headers: header(`ts=9876;h1=${P1_H1}`),
    at: 9876,
    want: mismatch,
  },
  { situation: 'the body re-spaced (SDK case)', body: '{ "data": [ "1", "2" ]}', want: mismatch },
  { situation: 'one body byte flipped', body: flipByte(P1_BODY, 2), want: mismatch },
  {
    situation: 'a dot instead of a colon (Stripe-style content)',
    headers: header(`ts=${TS};h1=${hmacOf(SECRET, `${TS}.${P1_BODY}`)}`),
    want: mismatch,
  },
  {
    situation: '"invalid_header" (SDK case)',
    headers: header('invalid_header'),
    want: noTimestamp,
  },
  { situation: 'h1 without ts (SDK case)', headers: header(`h1=${P1_H1}`), want: noTimestamp },
  {
    situation: 'ts with only an h2 (SDK case)',
    headers: header(`ts=1234;h2=${P1_H1}`),
    want: { ok: false, reason: /^no h1 signature in Paddle-Signature header$/ },
  },
  {
    situation: 'two ts entries',
    headers: header(`ts=${TS};ts=${TS};h1=${P1_H1}`),
    want: { ok: false, reason: /more than one timestamp/ },
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing Paddle-Signature header$/ },
  },
];

verifyTable(
  'paddle',
  paddle,
  { secrets: [SECRET], body: P1_BODY, headers: header(`ts=${TS};h1=${P1_H1}`), at: TS },
  rows,
  (r) =>
    r.secrets.map((s) => hmacOf(s, Buffer.concat([Buffer.from(`${TS}:`), Buffer.from(r.body)]))),
);
