import { shopify } from '../../src/verify/providers/shopify';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// H1: shopify-api-js validate.test.ts (rawBody `{"foo": "bar"}`, apiSecretKey `test_secret_key`).
const H1 = { secret: 'test_secret_key', body: '{"foo": "bar"}' };
const H1_SIG = 'B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=';
const WRONG = hmacOf('other_key', H1.body, 'base64');
const WEBHOOK_ID = 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043';
const NON_ASCII = '{"title":"Crème brûlée ☕","vendor":"Ærø"}';
const AT = 1767225600;

interface Row {
  situation: string;
  secrets?: string[];
  body?: string | Buffer;
  headers: Record<string, string>;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const classic = (value: string) => ({ 'X-Shopify-Hmac-Sha256': value });

const rows = labelled<Row>([
  { situation: 'H1 vector in X-Shopify-Hmac-Sha256', headers: classic(H1_SIG), want: ok },
  {
    situation: 'H1 vector in shopify-hmac-sha256 (events webhooks)',
    headers: { 'shopify-hmac-sha256': H1_SIG },
    want: ok,
  },
  {
    situation: 'both headers, the preferred shopify-hmac-sha256 valid',
    headers: { ...classic(WRONG), 'shopify-hmac-sha256': H1_SIG },
    want: ok,
  },
  {
    situation: 'X-Shopify-Webhook-Id',
    headers: { ...classic(H1_SIG), 'X-Shopify-Webhook-Id': WEBHOOK_ID },
    want: { ok: true, secretIndex: 0, deliveryId: WEBHOOK_ID },
  },
  {
    situation: 'only shopify-event-id',
    headers: { ...classic(H1_SIG), 'shopify-event-id': 'evt-1' },
    want: { ok: true, secretIndex: 0, deliveryId: 'evt-1' },
  },
  {
    situation: 'both id headers (X-Shopify-Webhook-Id wins)',
    headers: {
      ...classic(H1_SIG),
      'shopify-event-id': 'evt-1',
      'X-Shopify-Webhook-Id': WEBHOOK_ID,
    },
    want: { ok: true, secretIndex: 0, deliveryId: WEBHOOK_ID },
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    secrets: ['old_secret_key', H1.secret],
    headers: classic(H1_SIG),
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'both headers, the preferred shopify-hmac-sha256 invalid',
    headers: { ...classic(H1_SIG), 'shopify-hmac-sha256': WRONG },
    want: mismatch,
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: classic(hmacOf(H1.secret, NON_ASCII, 'base64')),
    want: ok,
  },
  {
    situation: 'the body re-serialized (space dropped)',
    body: JSON.stringify(JSON.parse(H1.body)),
    headers: classic(H1_SIG),
    want: mismatch,
  },
  {
    situation: 'one body byte flipped',
    body: flipByte(H1.body, 1),
    headers: classic(H1_SIG),
    want: mismatch,
  },
  { situation: 'a wrong secret', secrets: ['other_key'], headers: classic(H1_SIG), want: mismatch },
  {
    situation: 'the hex digest instead of base64',
    headers: classic(hmacOf(H1.secret, H1.body)),
    want: mismatch,
  },
  {
    situation: 'base64 without padding',
    headers: classic(H1_SIG.replace(/=+$/, '')),
    want: mismatch,
  },
  {
    situation: 'an empty header',
    headers: classic(''),
    want: { ok: false, reason: /^malformed X-Shopify-Hmac-Sha256 header/ },
  },
  {
    situation: 'no signature header',
    headers: { 'X-Shopify-Webhook-Id': WEBHOOK_ID },
    want: { ok: false, reason: /^missing shopify-hmac-sha256 or X-Shopify-Hmac-Sha256 header$/ },
  },
]);

describe('shopify()', () => {
  it.each(rows)('shopify() with $situation → $result', (row) => {
    const { secrets = [H1.secret], body = H1.body, headers, want } = row;
    const result = shopify({ provider: 'shopify', secrets })(request({ body, headers, at: AT }));
    if (want.ok) {
      expect(result).toEqual(want);
      return;
    }
    const expected = secrets.map((s) => hmacOf(s, body, 'base64'));
    expect(reasonOf(result, [...secrets, ...expected, H1_SIG, ...received(headers)])).toMatch(
      want.reason,
    );
  });
});
