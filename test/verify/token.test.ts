import { token } from '../../src/verify/providers/token';
import type { VerifySpec } from '../../src/verify/types';
import { labelled, reasonOf, request, type Want } from './support';

// GitLab's X-Gitlab-Token style: nothing signed, a constant-time compare of a shared token.
const TOKEN = 'gl-hook-7f3c9a2e';
const AT = 1767225600;

interface Row {
  situation: string;
  options?: Partial<VerifySpec>;
  secrets?: string[];
  headers?: Record<string, string>;
  query?: Record<string, string>;
  want: Want;
}

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^token does not match$/ };
const gitlab = { header: 'X-Gitlab-Token' };
const bearer = { header: 'Authorization' };

const rows = labelled<Row>([
  {
    situation: 'the token in X-Webhook-Token (default header)',
    headers: { 'X-Webhook-Token': TOKEN },
    want: ok,
  },
  {
    situation: 'the token in X-Gitlab-Token',
    options: gitlab,
    headers: { 'X-Gitlab-Token': TOKEN },
    want: ok,
  },
  {
    situation: 'Authorization: Bearer <token>',
    options: bearer,
    headers: { Authorization: `Bearer ${TOKEN}` },
    want: ok,
  },
  {
    situation: 'Authorization: bearer <token> (scheme case-insensitive)',
    options: bearer,
    headers: { Authorization: `bearer ${TOKEN}` },
    want: ok,
  },
  {
    situation: 'the token in the query parameter',
    options: { query: 'token' },
    query: { token: TOKEN },
    want: ok,
  },
  {
    situation: 'secrets [wrong, right] (rotation)',
    options: gitlab,
    secrets: ['old-token', TOKEN],
    headers: { 'X-Gitlab-Token': TOKEN },
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a different token',
    options: gitlab,
    headers: { 'X-Gitlab-Token': 'gl-hook-00000000' },
    want: mismatch,
  },
  {
    situation: 'a one-character-short prefix of the token',
    options: gitlab,
    headers: { 'X-Gitlab-Token': TOKEN.slice(0, -1) },
    want: mismatch,
  },
  {
    situation: 'the token with one character appended',
    options: gitlab,
    headers: { 'X-Gitlab-Token': `${TOKEN}x` },
    want: mismatch,
  },
  {
    situation: 'the token in another case',
    options: gitlab,
    headers: { 'X-Gitlab-Token': TOKEN.toUpperCase() },
    want: mismatch,
  },
  {
    situation: 'Bearer <token> outside Authorization',
    options: gitlab,
    headers: { 'X-Gitlab-Token': `Bearer ${TOKEN}` },
    want: mismatch,
  },
  {
    situation: 'Basic <token> in Authorization',
    options: bearer,
    headers: { Authorization: `Basic ${TOKEN}` },
    want: mismatch,
  },
  {
    situation: 'no token header',
    options: gitlab,
    headers: {},
    want: { ok: false, reason: /^missing X-Gitlab-Token header$/ },
  },
  {
    situation: 'an empty token header',
    options: gitlab,
    headers: { 'X-Gitlab-Token': '' },
    want: { ok: false, reason: /^missing X-Gitlab-Token header$/ },
  },
  {
    situation: 'the token in a header when query is set',
    options: { query: 'token' },
    headers: { 'X-Webhook-Token': TOKEN },
    want: { ok: false, reason: /^missing token query parameter$/ },
  },
]);

describe('token()', () => {
  it.each(rows)('token() with $situation → $result', (row) => {
    const { options = {}, secrets = [TOKEN], headers = {}, query = {}, want } = row;
    const verify = token({ provider: 'token', secrets, ...options });
    const result = verify(request({ body: '{}', headers, query, at: AT }));
    if (want.ok) {
      expect(result).toEqual(want);
      return;
    }
    expect(reasonOf(result, [...secrets, ...Object.values(headers)])).toMatch(want.reason);
  });

  it.each([[[]], [['']]])('token() with secrets %j → throws', (secrets) => {
    expect(() => token({ provider: 'token', secrets })).toThrow(/non-empty secret is required/);
  });
});
