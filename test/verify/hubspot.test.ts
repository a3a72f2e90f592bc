import { hubspot } from '../../src/verify/providers/hubspot';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// U1 (v3) and U2–U6 (legacy v1/v2): hubspot-api-python and hubspot-api-nodejs signature tests
// (reference §2.14, VERIFIED). U1's timestamp (15000000 ms) is fake: the clock is pinned to it.
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const URL = 'https://www.example.com/webhook_uri';
const TS = 15000000;
const U1_BODY = "{'example_field':'example_value'}";
const U1_SIG = 'HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=';
const U2_BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const v3 = (signature: string, ts: number | string = TS) => ({
  'X-HubSpot-Signature-v3': signature,
  'X-HubSpot-Request-Timestamp': String(ts),
});
const legacy = (signature: string, version = 'v1') => ({
  'X-HubSpot-Signature': signature,
  'X-HubSpot-Signature-Version': version,
});
const LEGACY = { legacy: true };

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'U1 v3 vector, clock pinned to its timestamp', want: ok },
  { situation: 'U1, clock 300 s after (inside)', nowMs: TS + 300_000, want: ok },
  { situation: 'U1, clock 300 s before (inside)', nowMs: TS - 300_000, want: ok },
  {
    situation: 'U1, clock 300.001 s after',
    nowMs: TS + 300_001,
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'U1, clock 300.001 s before',
    nowMs: TS - 300_001,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'U1 at the real time of day (its fake timestamp is stale)',
    nowMs: 1767225600000,
    want: { ok: false, reason: /too old/ },
  },
  {
    situation: 'U1 behind a proxy, with publicUrl',
    url: 'http://10.1.2.3:3000/hooks/hubspot',
    spec: { publicUrl: URL },
    want: ok,
  },
  {
    situation: 'U1 behind a proxy, without publicUrl',
    url: 'http://10.1.2.3:3000/hooks/hubspot',
    want: mismatch,
  },
  { situation: 'U1 with another method', method: 'PUT', want: mismatch },
  {
    situation: 'U1 with the timestamp changed',
    headers: v3(U1_SIG, TS + 1),
    nowMs: TS + 1,
    want: mismatch,
  },
  { situation: 'U1, one body byte flipped', body: flipByte(U1_BODY, 3), want: mismatch },
  { situation: 'U1 re-serialized', body: '{"example_field":"example_value"}', want: mismatch },
  {
    situation: 'a wrong client secret',
    secrets: ['zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz'],
    want: mismatch,
  },
  {
    situation: 'secrets [old, new] (rotation)',
    secrets: ['old-client-secret', SECRET],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a query with %3A signed decoded, as the v3 docs say',
    url: `${URL}?since=2026-01-01T00%3A00%3A00Z`,
    headers: v3(hmacOf(SECRET, `POST${URL}?since=2026-01-01T00:00:00Z${U1_BODY}${TS}`, 'base64')),
    want: ok,
  },
  {
    situation: 'a query with %3A signed as received, as the node SDK does',
    url: `${URL}?since=2026-01-01T00%3A00%3A00Z`,
    headers: v3(
      hmacOf(SECRET, `POST${URL}?since=2026-01-01T00%3A00%3A00Z${U1_BODY}${TS}`, 'base64'),
    ),
    want: ok,
  },
  {
    situation: 'a non-ASCII body',
    body: '[{"propertyValue":"Müller ✓"}]',
    headers: v3(hmacOf(SECRET, `POST${URL}[{"propertyValue":"Müller ✓"}]${TS}`, 'base64')),
    want: ok,
  },
  {
    situation: 'a malformed timestamp',
    headers: v3(U1_SIG, '15000000.0'),
    want: {
      ok: false,
      reason: /^malformed timestamp in X-HubSpot-Request-Timestamp header \(expected milliseconds/,
    },
  },
  // Legacy v1/v2 (plain SHA-256, no timestamp): only with legacy: true, and only without v3.
  {
    situation: 'U2 v1 vector with legacy',
    spec: LEGACY,
    body: U2_BODY,
    headers: legacy('232db2615f3d666fe21a8ec971ac7b5402d33b9a925784df3ca654d05f4817de'),
    want: ok,
  },
  {
    situation: 'U3 v2 GET with an empty body, with legacy',
    spec: LEGACY,
    method: 'GET',
    body: '',
    headers: legacy('eee2dddcc73c94d699f5e395f4b9d454a069a6855fbfa152e91e88823087200e', 'v2'),
    want: ok,
  },
  {
    situation: 'U4 v2 POST, with legacy',
    spec: LEGACY,
    body: '{"example_field":"example_value"}',
    headers: legacy('9569219f8ba981ffa6f6f16aa0f48637d35d728c7e4d93d0d52efaa512af7900', 'v2'),
    want: ok,
  },
  {
    situation: 'U5 v1 vector with legacy',
    spec: LEGACY,
    headers: legacy('69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750'),
    want: ok,
  },
  {
    situation: 'U6 v2 POST, with legacy',
    spec: LEGACY,
    headers: legacy('4fe4e3a7d3cf09db53be39d0a58130e2aaba074ec123a9e355b876a689a1c383', 'v2'),
    want: ok,
  },
  {
    situation: 'U5 v1 without legacy (downgrade refused)',
    headers: legacy('69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750'),
    want: { ok: false, reason: /^missing X-HubSpot-Signature-v3 header$/ },
  },
  {
    situation: 'a wrong v3 next to a right v1, with legacy (v3 wins)',
    spec: LEGACY,
    headers: {
      ...v3('AAAA'),
      ...legacy('69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750'),
    },
    want: mismatch,
  },
  {
    situation: 'U5 with a body byte flipped, with legacy',
    spec: LEGACY,
    body: flipByte(U1_BODY, 2),
    headers: legacy('69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750'),
    want: mismatch,
  },
  {
    situation: 'an unknown legacy version, with legacy',
    spec: LEGACY,
    headers: legacy('69fc6631a867edd4f9e9e627fc5c1148e3fbdd8b21837b6d2b8901c1fa57f750', 'v9'),
    want: { ok: false, reason: /^unsupported X-HubSpot-Signature-Version/ },
  },
  {
    situation: 'no signature at all, with legacy',
    spec: LEGACY,
    headers: {},
    want: { ok: false, reason: /^missing X-HubSpot-Signature-v3 or X-HubSpot-Signature header$/ },
  },
];

verifyTable(
  'hubspot',
  hubspot,
  { secrets: [SECRET], body: U1_BODY, headers: v3(U1_SIG), at: 0, nowMs: TS, url: URL },
  rows,
  (r) =>
    r.secrets.map((s) =>
      hmacOf(
        s,
        Buffer.concat([Buffer.from(`POST${URL}`), Buffer.from(r.body), Buffer.from(String(TS))]),
        'base64',
      ),
    ),
);
