import { compileCondition, type ConditionDef } from '../../src/routing/compile-condition';
import type { RequestView } from '../../src/routing/request-view';

const view: RequestView = {
  body: {
    ref: 'refs/heads/main',
    n: 5,
    s: '5',
    tags: ['a', 'b'],
    nested: { ok: true },
    nil: null,
    date: '2024-05-01T10:00:00Z',
  },
  headers: { 'x-github-event': 'push', 'x-count': '5' },
  query: { mode: 'fast' },
};

describe('compileCondition', () => {
  it.each<[string, ConditionDef, boolean]>([
    ['path equals', { path: '$.ref', equals: 'refs/heads/main' }, true],
    ['path equals, other value', { path: '$.ref', equals: 'refs/heads/dev' }, false],
    ['JSON number vs number', { path: '$.n', equals: 5 }, true],
    ['JSON number vs text keeps its type', { path: '$.n', equals: '5' }, false],
    ['JSON text vs number keeps its type', { path: '$.s', equals: 5 }, false],
    ['JSON null equals null', { path: '$.nil', equals: null }, true],
    ['header name in any case', { header: 'X-GitHub-Event', equals: 'push' }, true],
    ['header text vs number compares as text', { header: 'X-Count', equals: 5 }, true],
    ['header in', { header: 'x-github-event', in: ['issues', 'push'] }, true],
    ['header in, absent value', { header: 'x-github-event', in: ['issues'] }, false],
    ['query equals', { query: 'mode', equals: 'fast' }, true],
    ['matches', { path: '$.ref', matches: '^refs/heads/(main|release/.*)$' }, true],
    ['matches a number as text', { path: '$.n', matches: '^5$' }, true],
    ['matches never holds for an object', { path: '$.nested', matches: '.*' }, false],
    ['exists true', { path: '$.nested.ok', exists: true }, true],
    ['exists true on null', { path: '$.nil', exists: true }, true],
    ['exists false', { path: '$.nope', exists: false }, true],
    ['exists false when present', { header: 'x-github-event', exists: false }, false],
    ['missing header equals', { header: 'x-missing', equals: 'push' }, false],
    ['any value of a multi-match path', { path: '$.tags[*]', equals: 'b' }, true],
    ['no value of a multi-match path', { path: '$.tags[*]', equals: 'c' }, false],
    [
      'all',
      {
        all: [
          { path: '$.n', equals: 5 },
          { query: 'mode', equals: 'fast' },
        ],
      },
      true,
    ],
    [
      'all, one fails',
      {
        all: [
          { path: '$.n', equals: 5 },
          { query: 'mode', equals: 'slow' },
        ],
      },
      false,
    ],
    [
      'any',
      {
        any: [
          { path: '$.n', equals: 6 },
          { query: 'mode', equals: 'fast' },
        ],
      },
      true,
    ],
    ['not', { not: { header: 'x-github-event', equals: 'push' } }, false],
    [
      'nested',
      { not: { any: [{ path: '$.n', equals: 1 }, { all: [{ path: '$.s', equals: '5' }] }] } },
      false,
    ],
  ])('%s', (_name, def, expected) => {
    expect(compileCondition(def).holds(view)).toBe(expected);
    expect(compileCondition(def).explain(view).held).toBe(expected);
  });

  it('an invalid regex is refused when compiled, not when a request arrives', () => {
    expect(() => compileCondition({ path: '$.ref', matches: '(unclosed' })).toThrow(
      /invalid regular expression/,
    );
  });

  it('explain says what each subject found and whether it held', () => {
    const trace = compileCondition({
      all: [
        { header: 'X-GitHub-Event', equals: 'push' },
        { any: [{ path: '$.tags[*]', equals: 'z' }] },
      ],
    }).explain(view);
    expect(trace).toEqual({
      condition: 'all',
      held: false,
      children: [
        { condition: 'header X-GitHub-Event equals "push"', held: true, found: ['push'] },
        {
          condition: 'any',
          held: false,
          children: [{ condition: '$.tags[*] equals "z"', held: false, found: ['a', 'b'] }],
        },
      ],
    });
  });

  // Issue 10: `equals: "false"` against false and `gte: "1000"` against 4200 read as bugs.
  it.each<[string, ConditionDef, RequestView['body'], string | undefined]>([
    [
      'text vs boolean',
      { path: '$.livemode', equals: 'false' },
      { livemode: false },
      'text vs boolean: the condition has "false" (text), the request has false (boolean); write false without quotes to compare a boolean',
    ],
    [
      'text vs number',
      { path: '$.amount', gte: '1000' },
      { amount: 4200 },
      'text vs number: the condition has "1000" (text), the request has 4200 (number); write 1000 without quotes to compare a number',
    ],
    [
      'number vs text',
      { path: '$.code', in: [5, 6] },
      { code: '5' },
      'number vs text: the condition has 5 (number), the request has "5" (text); write "5" in quotes to compare text',
    ],
    ['same types: no hint', { path: '$.amount', gte: 5000 }, { amount: 4200 }, undefined],
    ['a numeric text compared by gte: no hint', { path: '$.n', gte: 9 }, { n: '5' }, undefined],
  ])('explain hints when the value type misleads: %s', (_name, def, body, hint) => {
    const trace = compileCondition(def).explain({ body, headers: {}, query: {} });
    expect(trace.held).toBe(false);
    expect(trace.hint).toBe(hint);
  });
});
