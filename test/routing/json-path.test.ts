import { JSONPath } from 'jsonpath-plus';
import { compileJsonPath } from '../../src/routing/json-path';

const DOC = {
  ref: 'refs/heads/main',
  count: 0,
  nothing: null,
  flag: false,
  repository: { full_name: 'a/b', 'with-dash': 1, owner: { login: 'x' } },
  commits: [
    { id: 'c1', modified: ['a.md', 'b.md'] },
    { id: 'c2', modified: ['c.md'] },
  ],
};

describe('compileJsonPath', () => {
  it.each([
    '$.ref',
    '$.count',
    '$.nothing',
    '$.flag',
    '$.repository.full_name',
    '$.repository.with-dash',
    '$.repository.owner.login',
    '$.commits[0].id',
    '$.commits[1].modified[0]',
    '$.commits[9].id',
    '$.missing.deeper',
    '$.ref.length',
    '$.commits.length',
    '$.constructor',
    '$.__proto__',
    '$.repository.toString',
    '$.commits[*].id',
    '$.commits[*].modified[*]',
    '$..id',
    '$.commits[-1:].id',
    "$['repository']['full_name']",
    '$.*',
  ])('%s gives the same matches as jsonpath-plus itself', (path) => {
    const compiled = compileJsonPath(path);
    const expected = JSONPath({ path, json: DOC, eval: false, wrap: true });
    expect(compiled.all(DOC)).toEqual(expected);
    expect(compiled.first(DOC)).toEqual(expected[0]);
  });

  it('keeps the JSON type of the first match (0, false and null are matches)', () => {
    expect(compileJsonPath('$.count').first(DOC)).toBe(0);
    expect(compileJsonPath('$.flag').first(DOC)).toBe(false);
    expect(compileJsonPath('$.nothing').all(DOC)).toEqual([null]);
  });

  it('reads nothing from a body that is not an object', () => {
    for (const body of [undefined, null, 'text', 42, []]) {
      expect(compileJsonPath('$.a.b').all(body)).toEqual([]);
    }
  });

  it.each([
    ['ref', /must start with \$/],
    ['$.commits[?(@.id=="c1")]', /filter and script expressions are disabled/],
    ['$.commits[(@.length-1)]', /filter and script expressions are disabled/],
    ['$.commits[0', /unbalanced/],
    ["$['a", /unbalanced/],
  ])('%s is refused at compile time', (path, message) => {
    expect(() => compileJsonPath(path)).toThrow(message);
  });

  it('a quoted key may contain characters that look like a script', () => {
    expect(compileJsonPath("$['a(b)?']").first({ 'a(b)?': 1 })).toBe(1);
  });
});
