import { createSecretRedactor } from '../../src/redact/create-secret-redactor';

// issue 9 items 6 and 7: secrets are recognised by value, in the forms a leak takes.
const TOKEN = 'flow-api-token-do-not-leak';
const redactor = createSecretRedactor([TOKEN, 'short', '   ']);

describe('createSecretRedactor (issue 9 items 6, 7)', () => {
  it.each<[string, string, string | undefined]>([
    ['as written', `echo ${TOKEN} back`, 'echo [redacted] back'],
    ['upper-cased', `echo ${TOKEN.toUpperCase()}`, 'echo [redacted]'],
    ['URL-encoded', `q=${encodeURIComponent(`${TOKEN}`)}`, 'q=[redacted]'],
    [
      'base64 (a Basic credential)',
      `Basic ${Buffer.from(`user:${TOKEN}`).toString('base64')}`,
      undefined,
    ],
    ['base64 at offset 1', Buffer.from(`a${TOKEN}zz`).toString('base64'), undefined],
    ['base64 at offset 2', Buffer.from(`ab${TOKEN}`).toString('base64'), undefined],
    ['base64url', Buffer.from(`??>${TOKEN}??>`).toString('base64url'), undefined],
    ['a short secret as the whole value', 'short', '[redacted]'],
    ['a short secret in any case', 'SHORT', '[redacted]'],
  ])('%s', (_what, text, expected) => {
    expect(redactor.holds(text)).toBe(true);
    const redacted = redactor.text(text);
    if (expected !== undefined) expect(redacted).toBe(expected);
    expect(redacted).toContain('[redacted]');
    expect(redacted.toLowerCase()).not.toContain(TOKEN);
  });

  it.each([
    ['a short secret inside a longer text (chance, not a leak)', 'shorts'],
    ['a whitespace-only secret is no secret', '   '],
    ['an ordinary text', 'nothing to see here'],
  ])('leaves alone: %s', (_what, text) => {
    expect(redactor.holds(text)).toBe(false);
    expect(redactor.text(text)).toBe(text);
  });

  it('redacts every string of a JSON value, keys too, and keeps a __proto__ key a key', () => {
    const value = JSON.parse(
      `{"a":["${TOKEN}",1,{"b":"ok"}],"${TOKEN}":true,"__proto__":"${TOKEN}"}`,
    ) as Record<string, unknown>;
    const out = redactor.json(value) as Record<string, unknown>;
    expect(JSON.stringify(out)).toBe(
      '{"a":["[redacted]",1,{"b":"ok"}],"[redacted]":true,"__proto__":"[redacted]"}',
    );
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
  });

  it('returns the same value when there is nothing to redact', () => {
    const value = { a: ['x', { b: 2 }] };
    expect(redactor.json(value)).toBe(value);
  });
});

// issue 15: with only long secrets, json() searches the value's JSON text once and walks it only
// when that finds something; what it redacts must not change.
describe('createSecretRedactor json() with long secrets only (issue 15)', () => {
  const long = createSecretRedactor([TOKEN, 'whsec_another-long-one']);
  const quoted = createSecretRedactor(['a "quoted\\" secret']);

  const base64 = Buffer.from(`u:${TOKEN}`).toString('base64');
  it.each<[string, unknown, string]>([
    ['a nested value', { a: [{ b: `x ${TOKEN} y` }] }, TOKEN],
    ['a key', { [TOKEN.toUpperCase()]: 1 }, TOKEN.toUpperCase()],
    ['a base64 form', { auth: `Basic ${base64}` }, base64],
    ['the second secret', ['whsec_another-long-one'], 'whsec_another-long-one'],
  ])('redacts %s', (_what, value, leaked) => {
    const out = JSON.stringify(long.json(value));
    expect(out).toContain('[redacted]');
    expect(out).not.toContain(leaked);
  });

  it('returns the same value when nothing holds a secret', () => {
    const value = { deliveryId: 'a8f9', nested: [{ text: 'flow-api-token' }] };
    expect(long.json(value)).toBe(value);
  });

  it('still redacts a secret that JSON escapes (the walk, not the one search)', () => {
    expect(JSON.stringify(quoted.json({ v: 'x a "quoted\\" secret y' }))).toBe(
      '{"v":"x [redacted] y"}',
    );
  });
});

// issue 15: an answer is written from jsonText(), the text json()'s search ran over when it found
// nothing; it must be exactly what stringifying json()'s value writes, secret or not.
describe('createSecretRedactor jsonText() (issue 15)', () => {
  const redactors = {
    'long secrets only (one search)': createSecretRedactor([TOKEN, 'whsec_another-long-one']),
    'a short secret too (the walk)': redactor,
    'a secret JSON escapes (the walk)': createSecretRedactor(['a "quoted\\" secret']),
    'no secret': createSecretRedactor([]),
  };
  const values: [string, unknown][] = [
    ['an answer with nothing to redact', { deliveryId: 'a8f9', sessionId: 's-1', result: 'ok' }],
    ['a nested secret', { a: [{ b: `x ${TOKEN} y` }], n: 1 }],
    ['a secret as a key, upper-cased', { [TOKEN.toUpperCase()]: true }],
    ['a short secret as a whole value', { v: 'short' }],
    ['a quoted secret', { v: 'x a "quoted\\" secret y' }],
    ['a string', `echo ${TOKEN}`],
    ['null', null],
  ];
  for (const [kind, r] of Object.entries(redactors)) {
    it.each(values)(`${kind}: %s`, (_what, value) => {
      expect(r.jsonText(value)).toBe(JSON.stringify(r.json(value)));
      if (r.holds(TOKEN)) expect(r.jsonText(value).toLowerCase()).not.toContain(TOKEN);
    });
  }

  it('leaves a text with no secret as it is, and tests before it replaces', () => {
    const long = redactors['long secrets only (one search)'];
    expect(long.text('/hooks/github?x=1')).toBe('/hooks/github?x=1');
    expect(long.text(`/hooks/github?t=${TOKEN}&u=${TOKEN}`)).toBe(
      '/hooks/github?t=[redacted]&u=[redacted]',
    );
    // A test() before leaves lastIndex at its match: the replace still starts at 0.
    expect(long.holds(`a ${TOKEN}`)).toBe(true);
    expect(long.text(`${TOKEN} b ${TOKEN}`)).toBe('[redacted] b [redacted]');
  });
});
