import { square } from '../../src/verify/providers/square';
import { VerifySpecError } from '../../src/verify/types';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// Q1–Q3: square-nodejs-sdk tests/integration/webhooks.test.ts (reference §2.12, VERIFIED).
const Q1 = {
  key: 'Ibxx_5AKakO-3qeNVR61Dw',
  url: 'https://webhook.site/679a4f3a-dcfa-49ee-bac5-9d0edad886b9',
  body: '{"merchant_id":"MLEFBHHSJGVHD","type":"webhooks.test_notification","event_id":"ac3ac95b-f97d-458c-a6e6-18981597e05f","created_at":"2022-07-13T20:30:59.037339943Z","data":{"type":"webhooks","id":"bc368e64-01aa-407e-b46e-3231809b1129"}}',
  sig: 'GF4YkrJgGBDZ9NIYbNXBnMzqb2HoL4RW/S6vkZ9/2N4=',
};
const Q_URL = 'https://webhook.site/webhooks';
const header = (value: string) => ({ 'x-square-hmacsha256-signature': value });

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'Q1 vector', want: ok },
  {
    situation: 'Q2 vector',
    secrets: ['signature-key'],
    url: Q_URL,
    body: '{"data":{"type":"webhooks","id":"fake_id"}}',
    headers: header('W3FlCNk5IA3ZQ2LHTWoajvzfaDu/OwY2tNHIHC3IUOA='),
    want: ok,
  },
  {
    situation: 'Q3 vector (">" and "<" in the body)',
    secrets: ['signature-key'],
    url: Q_URL,
    body: '{"data":{"type":"webhooks","id":">id<"}}',
    headers: header('Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U='),
    want: ok,
  },
  {
    situation: 'Q1 behind a proxy, with publicUrl',
    url: 'http://flowhook.internal:3000/hooks/square',
    spec: { publicUrl: Q1.url },
    want: ok,
  },
  {
    situation: 'Q1 behind a proxy, without publicUrl',
    url: 'http://flowhook.internal:3000/hooks/square',
    want: mismatch,
  },
  {
    situation: 'the URL with one character dropped (SDK case)',
    url: Q1.url.slice(0, -1),
    want: mismatch,
  },
  {
    situation: 'the URL with :443 added (Square signs it exactly)',
    url: Q1.url.replace('.site/', '.site:443/'),
    want: mismatch,
  },
  {
    situation: 'key MCmhFRxGX82xMwg5FsaoQA (SDK case)',
    secrets: ['MCmhFRxGX82xMwg5FsaoQA'],
    want: mismatch,
  },
  {
    situation: 'the key base64-decoded (wrong decoding)',
    secrets: [Buffer.from(Q1.key, 'base64url').toString('latin1')],
    want: mismatch,
  },
  {
    situation: 'created_at month changed (SDK case)',
    body: Q1.body.replace('2022-07-13', '2022-08-13'),
    want: mismatch,
  },
  {
    situation: 'the body pretty-printed (SDK case)',
    body: JSON.stringify(JSON.parse(Q1.body), null, 2),
    want: mismatch,
  },
  { situation: 'one body byte flipped', body: flipByte(Q1.body, 30), want: mismatch },
  {
    situation: 'keys [old, new] (rotation)',
    secrets: ['old-signature-key', Q1.key],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII body',
    body: '{"data":{"note":"Crème brûlée ×2"}}',
    headers: header(hmacOf(Q1.key, `${Q1.url}{"data":{"note":"Crème brûlée ×2"}}`, 'base64')),
    want: ok,
  },
  {
    situation: 'no header',
    headers: {},
    want: { ok: false, reason: /^missing x-square-hmacsha256-signature header$/ },
  },
];

verifyTable(
  'square',
  square,
  { secrets: [Q1.key], body: Q1.body, headers: header(Q1.sig), at: 1767225600, url: Q1.url },
  rows,
  (r) =>
    r.secrets.map((s) =>
      hmacOf(s, Buffer.concat([Buffer.from(Q1.url), Buffer.from(r.body)]), 'base64'),
    ),
);

describe('square() configuration', () => {
  it.each([
    ['a relative publicUrl', '/hooks/square', /absolute URL/],
    ['an ftp publicUrl', 'ftp://example.com/hooks', /https:\/\/ or http:\/\//],
    ['a publicUrl with a query', 'https://example.com/hooks?x=1', /query string/],
  ])('square() with %s → throws VerifySpecError', (_situation, publicUrl, message) => {
    const build = () => square({ provider: 'square', secrets: [Q1.key], publicUrl });
    expect(build).toThrow(VerifySpecError);
    expect(build).toThrow(message);
  });
});
