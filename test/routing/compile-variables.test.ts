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
      invalid: [],
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

  it('all: true gives every match as a list; an empty list when nothing matches', () => {
    const extract = compileVariables({
      xs: { path: '$.list[*].x', all: true },
      none: { path: '$.nope[*]', all: true },
      needed: { path: '$.nope[*]', all: true, required: true },
    });
    expect(extract(view)).toMatchObject({
      variables: { xs: ['first', 'second'], none: [] },
      missing: ['needed'],
    });
  });

  it('where and pick select list items by a field, without JSONPath filters', () => {
    const answers = {
      body: {
        answers: [
          { field: { ref: 'name' }, text: 'Ada' },
          { field: { ref: 'email' }, email: 'ada@example.com' },
          { field: { ref: 'tags' }, choices: { labels: ['a', 'b'] } },
          { field: { ref: 'email' }, email: 'second@example.com' },
        ],
      },
      headers: {},
      query: {},
    };
    const extract = compileVariables({
      email: {
        path: '$.answers[*]',
        where: { path: '$.field.ref', equals: 'email' },
        pick: '$.email',
      },
      emails: {
        path: '$.answers[*]',
        where: { path: '$.field.ref', equals: 'email' },
        pick: '$.email',
        all: true,
      },
      tags: {
        path: '$.answers[*]',
        where: { path: '$.field.ref', equals: 'tags' },
        pick: '$.choices.labels',
      },
      nothing: {
        path: '$.answers[*]',
        where: { path: '$.field.ref', equals: 'phone' },
        pick: '$.phone_number',
        default: 'n/a',
      },
    });
    expect(extract(answers).variables).toEqual({
      email: 'ada@example.com',
      emails: ['ada@example.com', 'second@example.com'],
      tags: ['a', 'b'],
      nothing: 'n/a',
    });
  });

  it('templates render paths, headers and query values as text', () => {
    const extract = compileVariables({
      summary:
        '{{ $.list[0].x }} via {{ header.X-Event }} ({{ query.q }}) {{ $.a }} [{{ $.nope }}]',
      typed: { template: '{{ $.a.b }}', type: 'number' },
    });
    expect(extract(view).variables).toEqual({
      summary: 'first via push (yes) {"b":1} []',
      typed: 1,
    });
  });

  it('object nests variables, with qualified names in errors', () => {
    const extract = compileVariables({
      customer: {
        object: {
          first: '$.list[0].x',
          code: { value: 7 },
          needed: { path: '$.nope', required: true },
        },
      },
    });
    expect(extract(view)).toEqual({
      variables: { customer: { first: 'first', code: 7 } },
      missing: ['customer.needed'],
      invalid: [],
    });
  });

  it('non-string scalars are constants', () => {
    expect(compileVariables({ n: 5, yes: true, nil: null })(view).variables).toEqual({
      n: 5,
      yes: true,
      nil: null,
    });
  });

  it.each([
    ['string', '$.a.b', '1'],
    ['string', '$.list[0].x', 'first'],
    ['number', '$.zero', 0],
    ['json', '$.a', { b: 1 }],
  ] as const)('type %s of %s → %j', (type, path, expected) => {
    expect(compileVariables({ v: { path, type } })(view).variables.v).toEqual(expected);
  });

  it.each([[{ n: '42', t: 'true', f: 'false', j: '{"k":[1]}', s: 7, list: ['1', '2'] }, {}]])(
    'converts text to numbers, booleans and JSON',
    (body) => {
      const extract = compileVariables({
        n: { path: '$.n', type: 'number' },
        t: { path: '$.t', type: 'boolean' },
        f: { path: '$.f', type: 'boolean' },
        j: { path: '$.j', type: 'json' },
        s: { path: '$.s', type: 'string' },
        list: { path: '$.list[*]', all: true, type: 'number' },
      });
      expect(extract({ body, headers: {}, query: {} }).variables).toEqual({
        n: 42,
        t: true,
        f: false,
        j: { k: [1] },
        s: '7',
        list: [1, 2],
      });
    },
  );

  it('a value that cannot be converted is listed with the reason', () => {
    const extract = compileVariables({
      n: { path: '$.n', type: 'number' },
      b: { path: '$.b', type: 'boolean' },
      o: { path: '$.o', type: 'string' },
      j: { path: '$.j', type: 'json' },
      empty: { path: '$.e', type: 'number' },
    });
    const body = { n: 'forty', b: 'yes', o: { a: 1 }, j: '{bad', e: '' };
    expect(extract({ body, headers: {}, query: {} }).invalid).toEqual([
      { name: 'n', reason: '"forty" is not a number' },
      { name: 'b', reason: '"yes" is not a boolean' },
      { name: 'o', reason: 'an object is not a string' },
      { name: 'j', reason: 'is text that is not valid JSON' },
      { name: 'empty', reason: '"" is not a number' },
    ]);
  });

  it.each([
    ['an unclosed template', '{{ $.a', /unclosed/],
    ['a bad placeholder', '{{ body.a }}', /must be a JSONPath/],
  ])('%s is refused at compile time', (_name, def, message) => {
    expect(() => compileVariables({ v: def })).toThrow(message);
  });

  it('default: null on a path variable is a value (regression: it was ignored)', () => {
    const extract = compileVariables({
      customer: { path: '$.nope', default: null, required: true },
    });
    expect(extract(view)).toEqual({ variables: { customer: null }, missing: [], invalid: [] });
  });
});
