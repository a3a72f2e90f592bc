import { intercom } from '../../src/verify/providers/intercom';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.15): HMAC-SHA1 hex of the body, keyed with the app's client_secret.
const SECRET = 'intercom_client_secret';
const BODY =
  '{"type":"notification_event","topic":"ping","id":"notif_1","data":{"item":{"type":"ping","message":"something"}}}';
const SIG = 'sha1=16c20c65daa739ff7b2f5fa283cb6b34ba90358f';
const header = (value: string) => ({ 'X-Hub-Signature': value });
const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const NON_ASCII =
  '{"type":"notification_event","topic":"conversation.user.replied","data":{"item":{"body":"Merci ✓"}}}';

const rows: Case[] = [
  { situation: 'the DERIVED ping fixture', want: ok },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-client-secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: header(`sha1=${hmacOf(SECRET, NON_ASCII, 'hex', 'sha1')}`),
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 20), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 1),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not-the-client-secret'], want: mismatch },
  {
    situation: 'a SHA-256 digest under sha1=',
    headers: header(`sha1=${hmacOf(SECRET, BODY)}`),
    want: mismatch,
  },
  {
    situation: 'upper-case hex',
    headers: header(SIG.toUpperCase().replace('SHA1=', 'sha1=')),
    want: mismatch,
  },
  {
    situation: 'a sha256= prefix',
    headers: header(`sha256=${hmacOf(SECRET, BODY)}`),
    want: { ok: false, reason: /^malformed X-Hub-Signature header \(expected sha1=<signature>\)$/ },
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing X-Hub-Signature header$/ },
  },
];

verifyTable(
  'intercom',
  intercom,
  { secrets: [SECRET], body: BODY, headers: header(SIG), at: 1767225600 },
  rows,
  (r) => r.secrets.map((s) => hmacOf(s, r.body, 'hex', 'sha1')),
);
