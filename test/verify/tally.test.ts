import { tally } from '../../src/verify/providers/tally';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// DERIVED (reference §2.9), tally.so forms. Tally signs compact JSON; its own example
// re-serializes, which only works because of that: we verify the raw bytes.
const SECRET = 'tally_test_secret';
const BODY =
  '{"eventId":"a4cb511e-d513-4fa5-baee-b815d718dfd1","eventType":"FORM_RESPONSE","createdAt":"2023-06-28T15:00:21.889Z","data":{"responseId":"2wgx4n","formId":"VwbNEw","fields":[]}}';
const SIG = 'BXSm4UXXCAGyGtTih3MFTDHaJ+QdUR+RlUXpla2fAmo=';
const header = (value: string) => ({ 'Tally-Signature': value });
const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const NON_ASCII = '{"eventId":"e1","data":{"fields":[{"value":"Łódź ☕"}]}}';

const rows: Case[] = [
  { situation: 'the DERIVED fixture', want: ok },
  {
    situation: 'compact JSON re-serialized (identical bytes)',
    body: JSON.stringify(JSON.parse(BODY)),
    want: ok,
  },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-tally-secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: header(hmacOf(SECRET, NON_ASCII, 'base64')),
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(BODY, 12), want: mismatch },
  {
    situation: 'the JSON pretty-printed',
    body: JSON.stringify(JSON.parse(BODY), null, 2),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['not_the_tally_secret'], want: mismatch },
  {
    situation: 'a hex digest (wrong encoding)',
    headers: header(hmacOf(SECRET, BODY)),
    want: mismatch,
  },
  {
    situation: 'an empty header',
    headers: header(''),
    want: { ok: false, reason: /^malformed Tally-Signature header/ },
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing Tally-Signature header$/ },
  },
];

verifyTable(
  'tally',
  tally,
  { secrets: [SECRET], body: BODY, headers: header(SIG), at: 1767225600 },
  rows,
  (r) => r.secrets.map((s) => hmacOf(s, r.body, 'base64')),
);
