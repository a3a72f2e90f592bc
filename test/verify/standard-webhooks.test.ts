import { standardWebhooks } from '../../src/verify/providers/standard-webhooks';
import { VerifySpecError } from '../../src/verify/types';
import { flipByte, hmacOf, labelled, reasonOf, received, request, type Want } from './support';

// W1: the Standard Webhooks libraries' "sign function works" vector (also Svix's TestWebhookSign).
const W1 = {
  secret: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
  id: 'msg_p5jXN8AQM9LWM0D4loKWxJek',
  ts: 1614265330,
  body: '{"test": 2432232314}',
};
const W1_SIG = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
const INVALID = 'v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=';
// What a receiver gets if it wrongly keys with the literal `whsec_…` string: must not verify.
const LITERAL_KEY_SIG = 'v1,TcxlhK9b6UD6iVI1ZU2tTqp8PEVfYRseNNfa6b+LcUg=';
// GitLab 19 signing token (DERIVED regression fixture, reference §2.4): key bytes 0x00..0x1f.
const GL = {
  secret: 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  id: '9a2c7e1e-3f4b-4c5d-8e6f-0a1b2c3d4e5f',
  ts: 1767225600,
  body: '{"object_kind":"push","ref":"refs/heads/main"}',
};
const GL_SIG = 'v1,9N9rE7mCt/fHVgQnCyK5cRxG+5GZHdV++rWw9OnB0r8=';
const W1_KEY = Buffer.from(W1.secret.slice(6), 'base64');
const NON_ASCII = '{"name":"Zoë ♥ Ελλάδα"}';
const EMPTY_SIG = `v1,${hmacOf(W1_KEY, `${W1.id}.${W1.ts}.`, 'base64')}`;

const sw = (brand: string, signature: string, id = W1.id, ts: number | string = W1.ts) => ({
  [`${brand}-id`]: id,
  [`${brand}-timestamp`]: String(ts),
  [`${brand}-signature`]: signature,
});

interface Row {
  situation: string;
  secrets?: string[];
  body?: string | Buffer;
  headers: Record<string, string>;
  at?: number;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0, deliveryId: W1.id };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const noV1: Want = { ok: false, reason: /^no v1 signature in webhook-signature header$/ };
const without = (name: string) =>
  Object.fromEntries(Object.entries(sw('webhook', W1_SIG)).filter(([key]) => key !== name));
const noId = without('webhook-id');
const noTimestamp = without('webhook-timestamp');

const rows = labelled<Row>([
  { situation: 'W1 vector, clock at the timestamp', headers: sw('webhook', W1_SIG), want: ok },
  {
    situation: 'W1 vector and a secret without whsec_',
    secrets: [W1.secret.slice(6)],
    headers: sw('webhook', W1_SIG),
    want: ok,
  },
  { situation: 'W1 vector under svix-* headers', headers: sw('svix', W1_SIG), want: ok },
  {
    situation: 'W1 under webhook-* and an invalid svix-signature',
    headers: { ...sw('svix', INVALID), ...sw('webhook', W1_SIG) },
    want: ok,
  },
  {
    situation: 'GitLab signing-token fixture',
    secrets: [GL.secret],
    body: GL.body,
    headers: sw('webhook', GL_SIG, GL.id, GL.ts),
    at: GL.ts,
    want: { ok: true, secretIndex: 0, deliveryId: GL.id },
  },
  {
    situation: 'an empty body signed as "id.ts."',
    body: '',
    headers: sw('webhook', EMPTY_SIG),
    want: ok,
  },
  {
    situation: 'a non-ASCII body',
    body: NON_ASCII,
    headers: sw('webhook', `v1,${hmacOf(W1_KEY, `${W1.id}.${W1.ts}.${NON_ASCII}`, 'base64')}`),
    want: ok,
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    secrets: [GL.secret, W1.secret],
    headers: sw('webhook', W1_SIG),
    want: { ok: true, secretIndex: 1, deliveryId: W1.id },
  },
  {
    situation: 'valid v1 first of three',
    headers: sw('webhook', `${W1_SIG} ${INVALID} ${INVALID}`),
    want: ok,
  },
  {
    situation: 'valid v1 in the middle (library multi-sig case)',
    headers: sw('webhook', `${INVALID} v2,${INVALID.slice(3)} ${W1_SIG} ${INVALID}`),
    want: ok,
  },
  {
    situation: 'valid v1 last, after a v1a entry',
    headers: sw('webhook', `v1a,${INVALID.slice(3)} ${INVALID} ${W1_SIG}`),
    want: ok,
  },
  {
    situation: 'clock just inside the window, 300 s after',
    at: W1.ts + 300,
    headers: sw('webhook', W1_SIG),
    want: ok,
  },
  {
    situation: 'clock just inside the window, 300 s before',
    at: W1.ts - 300,
    headers: sw('webhook', W1_SIG),
    want: ok,
  },
  {
    situation: 'clock 301 s after the timestamp',
    at: W1.ts + 301,
    headers: sw('webhook', W1_SIG),
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'clock 301 s before the timestamp',
    at: W1.ts - 301,
    headers: sw('webhook', W1_SIG),
    want: {
      ok: false,
      reason: /^timestamp outside the 300 s tolerance \(too far in the future\)$/,
    },
  },
  {
    situation: 'the signature of the literal-string key',
    headers: sw('webhook', LITERAL_KEY_SIG),
    want: mismatch,
  },
  {
    situation: 'the library invalid-signature fixture',
    headers: sw('webhook', INVALID),
    want: mismatch,
  },
  {
    situation: 'one body byte flipped',
    body: flipByte(W1.body, 2),
    headers: sw('webhook', W1_SIG),
    want: mismatch,
  },
  {
    situation: 'the body re-serialized (space dropped)',
    body: JSON.stringify(JSON.parse(W1.body)),
    headers: sw('webhook', W1_SIG),
    want: mismatch,
  },
  {
    situation: 'a wrong secret',
    secrets: [GL.secret],
    headers: sw('webhook', W1_SIG),
    want: mismatch,
  },
  { situation: 'another webhook-id', headers: sw('webhook', W1_SIG, 'msg_other'), want: mismatch },
  { situation: 'a partial "v1," signature', headers: sw('webhook', 'v1,'), want: mismatch },
  { situation: 'only a v1a entry', headers: sw('webhook', `v1a,${W1_SIG.slice(3)}`), want: noV1 },
  {
    situation: 'the valid digest under v2',
    headers: sw('webhook', `v2,${W1_SIG.slice(3)}`),
    want: noV1,
  },
  { situation: 'a garbage signature header', headers: sw('webhook', 'garbage'), want: noV1 },
  {
    situation: 'no signature header',
    headers: {},
    want: { ok: false, reason: /^missing webhook-signature or svix-signature header$/ },
  },
  {
    situation: 'no webhook-id header',
    headers: noId,
    want: { ok: false, reason: /^missing webhook-id header$/ },
  },
  {
    situation: 'no webhook-timestamp header',
    headers: noTimestamp,
    want: { ok: false, reason: /^missing webhook-timestamp header$/ },
  },
  {
    situation: 'a non-numeric timestamp',
    headers: sw('webhook', W1_SIG, W1.id, '1614265330.5'),
    want: { ok: false, reason: /^malformed timestamp in webhook-timestamp header/ },
  },
]);

describe('standardWebhooks()', () => {
  it.each(rows)('standardWebhooks() with $situation → $result', (row) => {
    const { secrets = [W1.secret], body = W1.body, headers, at = W1.ts, want } = row;
    const verify = standardWebhooks({ provider: 'standard-webhooks', secrets });
    const result = verify(request({ body, headers, at }));
    if (want.ok) {
      expect(result).toEqual(want);
      return;
    }
    const signed = Buffer.concat([Buffer.from(`${W1.id}.${W1.ts}.`), Buffer.from(body)]);
    const keys = secrets.map((s) => Buffer.from(s.replace(/^whsec_/, ''), 'base64'));
    const expected = keys.map((k) => hmacOf(k, signed, 'base64'));
    const forbidden = [...secrets, ...secrets.map((s) => s.slice(6)), ...expected, W1_SIG.slice(3)];
    expect(reasonOf(result, [...forbidden, ...received(headers)])).toMatch(want.reason);
  });

  it.each(['whsec_not*base64!', 'whsec_', 'whsec_A', ''])(
    'standardWebhooks() with the undecodable secret %j → throws VerifySpecError',
    (secret) => {
      const build = () => standardWebhooks({ provider: 'standard-webhooks', secrets: [secret] });
      expect(build).toThrow(VerifySpecError);
      expect(build).toThrow(/^secret #1 is empty or malformed \(expected whsec_<base64>\)$/);
    },
  );
});
