import { zendesk } from '../../src/verify/providers/zendesk';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.13) with Zendesk's static test-delivery secret, used as text.
const SECRET = 'dGhpc19zZWNyZXRfaXNfZm9yX3Rlc3Rpbmdfb25seQ==';
const TS = '2021-09-21T19:04:56Z';
const AT = Date.parse(TS) / 1000;
const BODY = '{"ticket":{"id":35436,"subject":"Help, my printer is on fire!"}}';
const SIG = '8psvOJKjLPxlZQLcWTPQjhlFV1k9m2CnCXHZcBAceSQ=';
// What a receiver gets if it base64-decodes the secret: must not verify.
const DECODED_KEY_SIG = '9qhA3S6cBqzEuKKfXdbEZ5Rai3Q5iE3W6TTcbBgbShQ=';
const INVOCATION = '8350205582';
const headers = (signature: string, ts = TS) => ({
  'X-Zendesk-Webhook-Signature': signature,
  'X-Zendesk-Webhook-Signature-Timestamp': ts,
  'X-Zendesk-Webhook-Invocation-Id': INVOCATION,
});

const ok: Want = { ok: true, secretIndex: 0, deliveryId: INVOCATION };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const malformedTs: Want = {
  ok: false,
  reason:
    /^malformed timestamp in X-Zendesk-Webhook-Signature-Timestamp header \(expected an ISO 8601 date\)$/,
};

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  {
    situation: 'an empty body (GET or DELETE trigger)',
    body: '',
    headers: headers(hmacOf(SECRET, TS, 'base64')),
    want: ok,
  },
  { situation: 'clock 300 s after (inside)', at: AT + 300, want: ok },
  { situation: 'clock 300 s before (inside)', at: AT - 300, want: ok },
  { situation: 'clock 301 s after', at: AT + 301, want: { ok: false, reason: /too old/ } },
  {
    situation: 'clock 301 s before',
    at: AT - 301,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'the secret base64-decoded (wrong decoding)',
    headers: headers(DECODED_KEY_SIG),
    want: mismatch,
  },
  {
    situation: 'a separator between timestamp and body',
    headers: headers(hmacOf(SECRET, `${TS}.${BODY}`, 'base64')),
    want: mismatch,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 9), want: mismatch },
  {
    situation: 're-serialized JSON',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not-the-zendesk-secret'], want: mismatch },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-zendesk-secret', SECRET],
    want: { ok: true, secretIndex: 1, deliveryId: INVOCATION },
  },
  {
    situation: 'a non-ASCII body',
    body: '{"ticket":{"subject":"Imprimante en feu ! 🔥"}}',
    headers: headers(
      hmacOf(SECRET, `${TS}{"ticket":{"subject":"Imprimante en feu ! 🔥"}}`, 'base64'),
    ),
    want: ok,
  },
  {
    situation: 'a unix timestamp instead of ISO 8601',
    headers: headers(SIG, String(AT)),
    want: malformedTs,
  },
  {
    situation: 'an ISO date without a zone',
    headers: headers(SIG, '2021-09-21T19:04:56'),
    want: malformedTs,
  },
  {
    situation: 'no timestamp header',
    headers: { 'X-Zendesk-Webhook-Signature': SIG },
    want: { ok: false, reason: /^missing X-Zendesk-Webhook-Signature-Timestamp header$/ },
  },
  {
    situation: 'no signature header',
    headers: {},
    want: { ok: false, reason: /^missing X-Zendesk-Webhook-Signature header$/ },
  },
];

verifyTable(
  'zendesk',
  zendesk,
  { secrets: [SECRET], body: BODY, headers: headers(SIG), at: AT },
  rows,
  (r) =>
    r.secrets.map((s) =>
      hmacOf(s, Buffer.concat([Buffer.from(TS), Buffer.from(r.body)]), 'base64'),
    ),
);
