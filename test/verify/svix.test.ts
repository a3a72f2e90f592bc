import { svix } from '../../src/verify/providers/svix';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// W1: Svix go/webhook_test.go TestWebhookSign, the Standard Webhooks constant (reference §2.3).
const W1 = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  ts: 1614265330,
  body: '{"test": 2432232314}',
};
const W1_SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const INVALID = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
const LITERAL_KEY_SIG = 'v1,TcxlhK9b6UD6iVI1ZU2tTqp8PEVfYRseNNfa6b+LcUg=';
const KEY = Buffer.from(W1.secret.slice(6), 'base64');

const headers = (brand: string, signature: string, ts: number | string = W1.ts) => ({
  [`${brand}-id`]: W1.id,
  [`${brand}-timestamp`]: String(ts),
  [`${brand}-signature`]: signature,
});

const ok: Want = { ok: true, secretIndex: 0, deliveryId: W1.id };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };

const rows: Case[] = [
  { situation: 'W1 vector under svix-* headers', want: ok },
  {
    situation: 'W1 under the unbranded webhook-* headers',
    headers: headers('webhook', W1_SIG),
    want: ok,
  },
  {
    situation: 'svix-* preferred over an invalid webhook-signature',
    headers: { ...headers('webhook', INVALID), ...headers('svix', W1_SIG) },
    want: ok,
  },
  {
    situation: 'an invalid svix-signature is not rescued by a valid webhook-signature',
    headers: { ...headers('webhook', W1_SIG), ...headers('svix', INVALID) },
    want: mismatch,
  },
  { situation: 'valid v1 first', headers: headers('svix', `${W1_SIG} ${INVALID}`), want: ok },
  {
    situation: 'valid v1 in the middle',
    headers: headers('svix', `${INVALID} ${W1_SIG} v1a,x`),
    want: ok,
  },
  {
    situation: 'valid v1 last',
    headers: headers('svix', `v2,${W1_SIG.slice(3)} ${INVALID} ${W1_SIG}`),
    want: ok,
  },
  {
    situation: 'only v1a and v2 entries',
    headers: headers('svix', `v1a,${W1_SIG.slice(3)} v2,${W1_SIG.slice(3)}`),
    want: { ok: false, reason: /^no v1 signature in svix-signature header$/ },
  },
  { situation: 'the clock 300 s after (edge, inside)', at: W1.ts + 300, want: ok },
  { situation: 'the clock 300 s before (edge, inside)', at: W1.ts - 300, want: ok },
  {
    situation: 'the clock 301 s after',
    at: W1.ts + 301,
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'the clock 301 s before',
    at: W1.ts - 301,
    want: {
      ok: false,
      reason: /^timestamp outside the 300 s tolerance \(too far in the future\)$/,
    },
  },
  {
    situation: 'tolerance 600 and the clock 500 s after',
    spec: { tolerance: 600 },
    at: W1.ts + 500,
    want: ok,
  },
  { situation: 'one body byte flipped', body: flipByte(W1.body, 3), want: mismatch },
  { situation: 're-serialized JSON', body: JSON.stringify(JSON.parse(W1.body)), want: mismatch },
  {
    situation: 'a wrong secret',
    secrets: ['whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8='],
    want: mismatch,
  },
  {
    situation: 'the signature of the literal-string key (wrong decoding)',
    headers: headers('svix', LITERAL_KEY_SIG),
    want: mismatch,
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    secrets: ['whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=', W1.secret],
    want: { ok: true, secretIndex: 1, deliveryId: W1.id },
  },
  {
    situation: 'a non-ASCII body signed by the same scheme',
    body: '{"name":"Zoë ♥"}',
    headers: headers('svix', `v1,${hmacOf(KEY, `${W1.id}.${W1.ts}.{"name":"Zoë ♥"}`, 'base64')}`),
    want: ok,
  },
  {
    situation: 'no signature header at all',
    headers: {},
    want: { ok: false, reason: /^missing svix-signature or webhook-signature header$/ },
  },
  {
    situation: 'a malformed timestamp',
    headers: headers('svix', W1_SIG, '16142653300000000'),
    want: { ok: false, reason: /^malformed timestamp in svix-timestamp header/ },
  },
];

verifyTable(
  'svix',
  svix,
  { secrets: [W1.secret], body: W1.body, headers: headers('svix', W1_SIG), at: W1.ts },
  rows,
  (r) => [
    hmacOf(KEY, Buffer.concat([Buffer.from(`${W1.id}.${W1.ts}.`), Buffer.from(r.body)]), 'base64'),
  ],
);
