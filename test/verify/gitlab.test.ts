import { gitlab } from '../../src/verify/providers/gitlab';
import { VerifySpecError } from '../../src/verify/types';
import { flipByte, hmacOf, verifyTable, type Case, type Want } from './support';

// Plain X-Gitlab-Token: nothing to compute. Signing token (GitLab 19, Standard Webhooks format):
// the DERIVED fixture of reference §2.4, key bytes 0x00..0x1f.
const TOKEN = 'gl-secret-token-7f3c9a2e';
const GL = {
  secret: 'whsec_AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=',
  id: '9a2c7e1e-3f4b-4c5d-8e6f-0a1b2c3d4e5f',
  ts: 1767225600,
  body: '{"object_kind":"push","ref":"refs/heads/main"}',
};
const GL_SIG = 'v1,9N9rE7mCt/fHVgQnCyK5cRxG+5GZHdV++rWw9OnB0r8=';
const KEY = Buffer.from(GL.secret.slice(6), 'base64');
const EVENT_UUID = '0f3b9a4e-2c1d-4e5f-8a9b-7c6d5e4f3a2b';

const signed = (signature = GL_SIG, ts: number = GL.ts) => ({
  'webhook-id': GL.id,
  'webhook-timestamp': String(ts),
  'webhook-signature': signature,
  'Idempotency-Key': GL.id,
});
const plain = (token = TOKEN) => ({ 'X-Gitlab-Token': token, 'X-Gitlab-Event-UUID': EVENT_UUID });

const tokenOk: Want = { ok: true, secretIndex: 0, deliveryId: EVENT_UUID };
const signedOk: Want = { ok: true, secretIndex: 0, deliveryId: GL.id };
const mismatch: Want = { ok: false, reason: /^signature does not match$/ };
const tokenMismatch: Want = { ok: false, reason: /^X-Gitlab-Token does not match$/ };

const rows: Case[] = [
  { situation: 'the secret token in X-Gitlab-Token', want: tokenOk },
  {
    situation: 'the secret token, Idempotency-Key as delivery id',
    headers: { ...plain(), 'Idempotency-Key': 'idem-1' },
    want: { ok: true, secretIndex: 0, deliveryId: 'idem-1' },
  },
  {
    situation: 'a token one character short',
    headers: plain(TOKEN.slice(0, -1)),
    want: tokenMismatch,
  },
  { situation: 'a token one character longer', headers: plain(`${TOKEN}x`), want: tokenMismatch },
  { situation: 'another token', headers: plain('gl-secret-token-00000000'), want: tokenMismatch },
  {
    situation: 'no X-Gitlab-Token',
    headers: { 'X-Gitlab-Event-UUID': EVENT_UUID },
    want: { ok: false, reason: /^missing X-Gitlab-Token header$/ },
  },
  {
    situation: 'tokens [old, new] (rotation)',
    secrets: ['gl-old-token-1234', TOKEN],
    want: { ok: true, secretIndex: 1, deliveryId: EVENT_UUID },
  },
  // Signing token: the Standard Webhooks scheme is required once a whsec_ secret is configured.
  {
    situation: 'the signing-token fixture',
    secrets: [GL.secret],
    headers: signed(),
    want: signedOk,
  },
  {
    situation: 'a signing token and only X-Gitlab-Token sent (downgrade)',
    secrets: [GL.secret],
    headers: plain(),
    want: { ok: false, reason: /^missing webhook-signature header$/ },
  },
  {
    situation: 'signing token, one body byte flipped',
    secrets: [GL.secret],
    headers: signed(),
    body: flipByte(GL.body, 5),
    want: mismatch,
  },
  {
    situation: 'signing token, re-serialized JSON',
    secrets: [GL.secret],
    headers: signed(),
    body: JSON.stringify(JSON.parse(GL.body), null, 1),
    want: mismatch,
  },
  {
    situation: 'signing token used as a literal string key',
    secrets: [GL.secret],
    headers: signed(`v1,${hmacOf(GL.secret, `${GL.id}.${GL.ts}.${GL.body}`, 'base64')}`),
    want: mismatch,
  },
  {
    situation: 'signing token, valid v1 last after a v1a entry',
    secrets: [GL.secret],
    headers: signed(`v1a,${GL_SIG.slice(3)} v1,AAAA ${GL_SIG}`),
    want: signedOk,
  },
  {
    situation: 'signing token, clock 300 s after (inside)',
    secrets: [GL.secret],
    headers: signed(),
    at: GL.ts + 300,
    want: signedOk,
  },
  {
    situation: 'signing token, clock 301 s after',
    secrets: [GL.secret],
    headers: signed(),
    at: GL.ts + 301,
    want: { ok: false, reason: /too old/ },
  },
  {
    situation: 'signing token, clock 301 s before',
    secrets: [GL.secret],
    headers: signed(),
    at: GL.ts - 301,
    want: { ok: false, reason: /too far in the future/ },
  },
  {
    situation: 'both kinds configured and both sent',
    secrets: [TOKEN, GL.secret],
    headers: { ...signed(), ...plain() },
    want: { ok: true, secretIndex: 1, deliveryId: GL.id },
  },
  {
    situation: 'both kinds configured, signature right but token wrong',
    secrets: [TOKEN, GL.secret],
    headers: { ...signed(), ...plain('gl-wrong') },
    want: tokenMismatch,
  },
  {
    situation: 'only a secret token configured, a webhook-signature is ignored',
    headers: { ...signed('v1,garbage'), ...plain() },
    want: { ok: true, secretIndex: 0, deliveryId: GL.id },
  },
];

verifyTable(
  'gitlab',
  gitlab,
  { secrets: [TOKEN], body: GL.body, headers: plain(), at: GL.ts },
  rows,
  (r) => [
    hmacOf(KEY, Buffer.concat([Buffer.from(`${GL.id}.${GL.ts}.`), Buffer.from(r.body)]), 'base64'),
    GL_SIG.slice(3),
  ],
);

describe('gitlab() configuration', () => {
  it('gitlab() with tolerance and no signing token → throws VerifySpecError', () => {
    expect(() => gitlab({ provider: 'gitlab', secrets: [TOKEN], tolerance: 60 })).toThrow(
      VerifySpecError,
    );
  });
  it('gitlab() with an undecodable whsec_ secret → throws VerifySpecError', () => {
    expect(() => gitlab({ provider: 'gitlab', secrets: ['whsec_n*t!'] })).toThrow(/secret #1/);
  });
});
