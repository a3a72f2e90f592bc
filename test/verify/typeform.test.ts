import { typeform } from '../../src/verify/providers/typeform';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.8): Typeform publishes no vector.
const SECRET = 'typeform_test_secret';
const BODY =
  '{"event_id":"01ABCDEF","event_type":"form_response","form_response":{"form_id":"lT4Z3j","token":"a3a12ec67a1365927098a606107fac15"}}';
const SIG = 'sha256=DrQi+CDlw8tGo6EcQHZHHRZ0vuEHZLx6IwsfeHyI4hs=';
const header = (value: string) => ({ 'Typeform-Signature': value });
const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const malformed: Want = {
  ok: false,
  reason: /^malformed Typeform-Signature header \(expected sha256=<signature>\)$/,
};
const NON_ASCII = '{"form_response":{"answers":[{"text":"Café — ✓"}]}}';

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-typeform-secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: header(`sha256=${hmacOf(SECRET, NON_ASCII, 'base64')}`),
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 7), want: mismatch },
  {
    situation: 're-serialized JSON (pretty-printed)',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not_the_typeform_secret'], want: mismatch },
  {
    situation: 'the GitHub-style hex digest (the Typeform trap)',
    headers: header(`sha256=${hmacOf(SECRET, BODY)}`),
    want: mismatch,
  },
  { situation: 'the digest without sha256=', headers: header(SIG.slice(7)), want: malformed },
  {
    situation: 'SHA256= in upper case',
    headers: header(`SHA256=${SIG.slice(7)}`),
    want: malformed,
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing Typeform-Signature header$/ },
  },
];

verifyTable(
  'typeform',
  typeform,
  { secrets: [SECRET], body: BODY, headers: header(SIG), at: 1767225600 },
  rows,
  (r) => r.secrets.map((s) => hmacOf(s, r.body, 'base64')),
);
