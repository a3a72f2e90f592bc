import { mailgun } from '../../src/verify/providers/mailgun';
import { hmacOf, request, verifyTable, type Case, type Want } from './support';

// M1: mailgun-php tests/Api/WebhookTest.php testVerifyWebhookGood (reference §2.16, VERIFIED);
// the bad twin is the same signature with another token.
const KEY = 'key-3ax6xnjp29jd6fds4gc373sgvjxteol0';
const TS = 1403645220;
const TOKEN = '5egbgr1vjgqxtrnp65xfznchgdccwh5d6i09vijqi3whgowmn6';
const BAD_TOKEN = 'owyldpe6nxhmrn78epljl6bj0orrki1u3d2v5e6cnlmmuox8jr';
const SIG = '9cfc5c41582e51246e73c88d34db3af0a3a2692a76fbab81492842f000256d33';
const PARENT_KEY = 'parent-account-signing-key';

const json = (
  signature: Record<string, unknown> = { timestamp: String(TS), token: TOKEN, signature: SIG },
  event: Record<string, unknown> = { id: 'CPgfbmQMTCKtHW6uIWtuVe', event: 'delivered' },
) => JSON.stringify({ signature, 'event-data': event });
const form = (fields: Record<string, string>) => new URLSearchParams(fields).toString();

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const noBlock: Want = {
  ok: false,
  reason: /^the body has no signature\.timestamp, signature\.token and signature\.signature$/,
};

const rows: Case[] = [
  { situation: 'M1 in a JSON webhook body', want: ok },
  {
    situation: 'M1 as legacy form fields',
    body: form({ timestamp: String(TS), token: TOKEN, signature: SIG, event: 'delivered' }),
    want: ok,
  },
  {
    situation: 'M1 with the timestamp as a JSON number',
    body: json({ timestamp: TS, token: TOKEN, signature: SIG }),
    want: ok,
  },
  {
    situation: 'the bad twin token (mailgun-php case)',
    body: json({ timestamp: String(TS), token: BAD_TOKEN, signature: SIG }),
    want: mismatch,
  },
  {
    situation: 'the timestamp changed by one second',
    body: json({ timestamp: String(TS + 1), token: TOKEN, signature: SIG }),
    at: TS + 1,
    want: mismatch,
  },
  {
    situation: 'a wrong signing key',
    secrets: ['key-00000000000000000000000000000000'],
    want: mismatch,
  },
  {
    situation: 'keys [old, new] (rotation)',
    secrets: ['key-old-signing-key', KEY],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a subaccount event verified by parent-signature',
    secrets: [PARENT_KEY],
    body: json({
      timestamp: String(TS),
      token: TOKEN,
      signature: SIG,
      'parent-signature': hmacOf(PARENT_KEY, `${TS}${TOKEN}`),
    }),
    want: ok,
  },
  {
    situation: 'the event changed: not signed, the first body a token is seen with is accepted',
    body: json(undefined, { id: 'other', event: 'failed', recipient: 'José ✉' }),
    want: ok,
  },
  { situation: 'clock 300 s after (inside)', at: TS + 300, want: ok },
  { situation: 'clock 300 s before (inside)', at: TS - 300, want: ok },
  {
    situation: 'clock 301 s after',
    at: TS + 301,
    want: { ok: false, reason: /^timestamp outside the 300 s tolerance \(too old\)$/ },
  },
  {
    situation: 'clock 301 s before',
    at: TS - 301,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'clock 8 h after with tolerance 28800',
    spec: { tolerance: 28800 },
    at: TS + 28800,
    want: ok,
  },
  {
    situation: 'a non-numeric timestamp',
    body: json({ timestamp: '1403645220.5', token: TOKEN, signature: SIG }),
    want: { ok: false, reason: /^malformed signature\.timestamp in the body$/ },
  },
  {
    situation: 'no signature block',
    body: JSON.stringify({ 'event-data': { id: 'x' } }),
    want: { ok: false, reason: /^no signature block in the body$/ },
  },
  {
    situation: 'a signature block without token',
    body: json({ timestamp: String(TS), signature: SIG }),
    want: noBlock,
  },
  {
    situation: 'a form without signature',
    body: form({ timestamp: String(TS), token: TOKEN }),
    want: noBlock,
  },
  {
    situation: 'a JSON body that does not parse',
    body: '{"signature": ',
    want: { ok: false, reason: /^no signature block in the body$/ },
  },
  { situation: 'an empty body', body: '', want: noBlock },
];

verifyTable('mailgun', mailgun, { secrets: [KEY], body: json(), headers: {}, at: TS }, rows, (r) =>
  r.secrets.map((s) => hmacOf(s, `${TS}${TOKEN}`)),
);

describe('mailgun() token replay cache', () => {
  const verify = () => mailgun({ provider: 'mailgun', secrets: [KEY] });
  const send = (v: ReturnType<typeof verify>, body: string, at = TS) => v(request({ body, at }));

  it('mailgun() with the same token twice and the same body → accepts both (a re-sent delivery)', () => {
    const v = verify();
    expect(send(v, json()).ok).toBe(true);
    expect(send(v, json(), TS + 10).ok).toBe(true);
  });

  it('mailgun() with the same token and another body → rejects the second (forged event)', () => {
    const v = verify();
    expect(send(v, json()).ok).toBe(true);
    const forged = send(v, json(undefined, { id: 'evil', event: 'unsubscribed' }));
    expect(forged).toEqual({
      ok: false,
      reason: 'signature token already used with another body (replay)',
    });
  });

  it('mailgun() caches per source: another verifier has not seen the token → accepts', () => {
    expect(send(verify(), json()).ok).toBe(true);
    expect(send(verify(), json(undefined, { id: 'evil' })).ok).toBe(true);
  });

  it('mailgun() does not remember a token whose signature failed → the genuine one still passes', () => {
    const v = verify();
    const bad = json(
      { timestamp: String(TS), token: TOKEN, signature: '0'.repeat(64) },
      { id: 'evil' },
    );
    expect(send(v, bad).ok).toBe(false);
    expect(send(v, json()).ok).toBe(true);
  });
});
