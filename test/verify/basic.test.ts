import { basic } from '../../src/verify/providers/basic';
import { VerifySpecError } from '../../src/verify/types';
import { verifyTable, type Case, type Want } from './support';

const USER = 'flowhook';
const PASSWORD = 'correct horse: battery staple';
const auth = (user: string, password: string, scheme = 'Basic') => ({
  Authorization: `${scheme} ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

const ok: Want = { ok: true, secretIndex: 0 };
const mismatch: Want = { ok: false, reason: /^credentials do not match$/ };

const rows: Case[] = [
  { situation: 'the right user and password (the password holds ":")', want: ok },
  { situation: 'the scheme in lower case', headers: auth(USER, PASSWORD, 'basic'), want: ok },
  {
    situation: 'passwords [old, new] (rotation)',
    secrets: ['old-password-123', PASSWORD],
    want: { ok: true, secretIndex: 1 },
  },
  {
    situation: 'a non-ASCII password',
    secrets: ['pässwörd-✓'],
    headers: auth(USER, 'pässwörd-✓'),
    want: ok,
  },
  {
    situation: 'a wrong password',
    headers: auth(USER, 'wrong horse battery staple'),
    want: mismatch,
  },
  {
    situation: 'the password with one character less',
    headers: auth(USER, PASSWORD.slice(0, -1)),
    want: mismatch,
  },
  { situation: 'a wrong user name', headers: auth('admin', PASSWORD), want: mismatch },
  { situation: 'an empty password', headers: auth(USER, ''), want: mismatch },
  {
    situation: 'a Bearer token',
    headers: { Authorization: `Bearer ${PASSWORD}` },
    want: { ok: false, reason: /^Authorization header is not Basic credentials$/ },
  },
  {
    situation: 'Basic with garbage',
    headers: { Authorization: 'Basic ***' },
    want: { ok: false, reason: /^Authorization header is not Basic credentials$/ },
  },
  {
    situation: 'credentials without ":"',
    headers: { Authorization: `Basic ${Buffer.from(USER).toString('base64')}` },
    want: { ok: false, reason: /^malformed Basic credentials/ },
  },
  {
    situation: 'no Authorization header',
    headers: {},
    want: { ok: false, reason: /^missing Authorization header$/ },
  },
];

verifyTable(
  'basic',
  basic,
  {
    secrets: [PASSWORD],
    spec: { username: USER },
    body: '{}',
    headers: auth(USER, PASSWORD),
    at: 1767225600,
  },
  rows,
  (r) => Object.values(r.headers),
);

describe('basic() configuration', () => {
  it.each([
    ['no username', undefined],
    ['an empty username', ''],
    ['a username with ":"', 'a:b'],
  ])('basic() with %s → throws VerifySpecError', (_situation, username) => {
    expect(() => basic({ provider: 'basic', secrets: [PASSWORD], username })).toThrow(
      VerifySpecError,
    );
  });
});
