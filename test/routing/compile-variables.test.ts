import { compileVariables } from '../../src/routing/compile-variables';
import type { RequestView } from '../../src/routing/request-view';

const view: RequestView = {
  body: { a: { b: 1 }, list: [{ x: 'first' }, { x: 'second' }], zero: 0, nil: null },
  headers: { 'x-event': 'push' },
  query: { q: 'yes' },
};

describe('compileVariables', () => {
  it('reads every kind of variable, keeping JSON types', () => {
    const extract = compileVariables({
      shorthand: '$.a.b',
      object: { path: '$.a' },
      firstOfMany: '$.list[*].x',
      zero: '$.zero',
      nil: '$.nil',
      fromHeader: { header: 'X-Event' },
      fromQuery: { query: 'q' },
      constant: { value: { nested: [1, 'two'] } },
    });
    expect(extract(view)).toEqual({
      variables: {
        shorthand: 1,
        object: { b: 1 },
        firstOfMany: 'first',
        zero: 0,
        nil: null,
        fromHeader: 'push',
        fromQuery: 'yes',
        constant: { nested: [1, 'two'] },
      },
      missing: [],
    });
  });

  it('uses the default when nothing is found, and leaves out a variable with neither', () => {
    const extract = compileVariables({
      withDefault: { path: '$.nope', default: 'fallback' },
      headerDefault: { header: 'x-nope', default: 'h' },
      queryDefault: { query: 'nope', default: 0 },
      absent: '$.nope',
    });
    const { variables, missing } = extract(view);
    expect(variables).toEqual({ withDefault: 'fallback', headerDefault: 'h', queryDefault: 0 });
    expect('absent' in variables).toBe(false);
    expect(missing).toEqual([]);
  });

  it('lists every required variable that found nothing', () => {
    const extract = compileVariables({
      one: { path: '$.nope', required: true },
      two: { header: 'x-nope', required: true },
      three: { query: 'nope', required: true },
      present: { path: '$.a.b', required: true },
      defaulted: { path: '$.nope', required: true, default: 'd' },
    });
    expect(extract(view).missing).toEqual(['one', 'two', 'three']);
  });

  it('a variable named __proto__ is an ordinary key', () => {
    // As js-yaml reads `__proto__: { value: x }`: an own key, not a prototype.
    const defs = JSON.parse('{"__proto__": {"value": "x"}}');
    const { variables } = compileVariables(defs)(view);
    expect(JSON.stringify(variables)).toBe('{"__proto__":"x"}');
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });
});
