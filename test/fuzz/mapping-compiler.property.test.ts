import fc from 'fast-check';
import { FlowhookError } from '../../src/errors';
import { compileMapping } from '../../src/mappings/compile-mapping';
import type { MappingDef } from '../../src/mappings/types';
import { validateMapping } from '../../src/mappings/validate-mapping';
import { PathError, PathErrors } from '../../src/path-error';
import type { RequestView } from '../../src/routing/request-view';
import { fuzzRuns } from './fuzz-runs';

// Issue 9, "a fuzz suite that stays": a mapping the schema accepts either compiles or is refused
// at load with PathErrors (each with file, line, column), and a compiled mapping never throws at request
// time, whatever the payload: conditions hold or not, extraction returns values, missing or
// invalid names, and the only error it may raise is a FlowhookError (a 4xx).
const PATHS = [
  '$',
  '$.a',
  '$.a.b',
  '$.list[*]',
  '$.list[0]',
  '$..*',
  '$..a',
  "$['a-b']",
  '$.a[*].b',
  '$.n',
];
const NAMES = ['X-Event', 'x-text', 'Content-Type'];
const scalar = fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null));
const subject = fc.oneof(
  fc.constantFrom(...PATHS).map((path) => ({ path })),
  fc.constantFrom(...NAMES).map((header) => ({ header })),
  fc.constantFrom('a', 'text').map((query) => ({ query })),
);
const test = fc
  .tuple(
    subject,
    fc.oneof(
      scalar.map((equals) => ({ equals })),
      fc.array(scalar, { minLength: 1, maxLength: 3 }).map((list) => ({ in: list })),
      fc
        .constantFrom('^a', '(a+)+$', '[0-9]{2,}', '^$', '.*', '\\w+')
        .map((matches) => ({ matches })),
      fc.boolean().map((exists) => ({ exists })),
      scalar.map((contains) => ({ contains })),
      fc.string({ maxLength: 4 }).map((startsWith) => ({ startsWith })),
      fc.string({ maxLength: 4 }).map((endsWith) => ({ endsWith })),
      fc.oneof(fc.integer(), fc.string({ maxLength: 4 })).map((gt) => ({ gt })),
      fc.oneof(fc.integer(), fc.string({ maxLength: 4 })).map((lte) => ({ lte })),
    ),
  )
  .map(([s, op]) => ({ ...s, ...op }));
const condition: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    test,
    fc.array(tie('node'), { maxLength: 3 }).map((all) => ({ all })),
    fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((any) => ({ any })),
    tie('node').map((not) => ({ not })),
  ),
})).node;
const options = fc.record(
  {
    default: scalar,
    required: fc.boolean(),
    type: fc.constantFrom('string', 'number', 'boolean', 'json'),
  },
  { requiredKeys: [] },
);
const variable: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(...PATHS),
    fc.constantFrom('{{ $.a }}-{{ header.X-Event }}', 'x {{ query.text }}'),
    fc
      .tuple(
        fc.record(
          {
            path: fc.constantFrom(...PATHS),
            all: fc.boolean(),
            where: condition,
            pick: fc.constantFrom(...PATHS),
          },
          { requiredKeys: ['path'] },
        ),
        options,
      )
      .map(([v, o]) => ({ ...v, ...o })),
    fc.tuple(fc.constantFrom(...NAMES), options).map(([header, o]) => ({ header, ...o })),
    fc.tuple(fc.constantFrom('a', 'text'), options).map(([query, o]) => ({ query, ...o })),
    fc.jsonValue({ maxDepth: 2 }).map((value) => ({ value })),
    fc
      .dictionary(fc.constantFrom('a', 'b', 'c'), tie('node'), { maxKeys: 3 })
      .map((object) => ({ object })),
  ),
})).node;
const mapping = fc.record({
  verify: fc.constant({ provider: 'none' }),
  dispatch: fc.constantFrom('first', 'all'),
  routes: fc.array(
    fc.record({
      name: fc.constantFrom('r1', 'r2', 'r3'),
      flow: fc.constant('flow'),
      when: fc.array(condition, { maxLength: 3 }),
      variables: fc.dictionary(fc.constantFrom('v', 'w', '__proto__', 'x.y'), variable, {
        maxKeys: 4,
      }),
    }),
    { minLength: 1, maxLength: 3 },
  ),
});
const request: fc.Arbitrary<RequestView> = fc.record({
  body: fc.oneof(
    fc.jsonValue({ maxDepth: 4 }),
    fc.record({ a: fc.jsonValue({ maxDepth: 3 }), list: fc.array(fc.jsonValue({ maxDepth: 2 })) }),
  ),
  headers: fc.record({ 'x-event': fc.string(), 'x-text': fc.string() }, { requiredKeys: [] }),
  query: fc.record({ a: fc.string(), text: fc.string() }, { requiredKeys: [] }),
});

describe('issue 9 fuzz: a schema-valid mapping never throws at request time (fast-check)', () => {
  it('compiles or is refused with a key path; then holds/explain/extract never throw', () => {
    let compiled = 0;
    fc.assert(
      fc.property(mapping, fc.array(request, { minLength: 1, maxLength: 5 }), (def, requests) => {
        fc.pre(validateMapping(def).length === 0);
        let source;
        try {
          source = compileMapping(def as unknown as MappingDef, {
            name: 'p',
            file: 'p.yaml',
            version: 'v',
          });
        } catch (error) {
          // Load errors (a route name used twice, a regex RE2 refuses), each with its key path,
          // all of them at once (issue 10): never a crash.
          expect(error).toBeInstanceOf(PathErrors);
          for (const problem of (error as PathErrors).errors) {
            expect(problem).toBeInstanceOf(PathError);
          }
          return;
        }
        compiled += 1;
        for (const view of requests) {
          for (const route of source.routes) {
            route.when.holds(view);
            route.when.explain(view);
            try {
              const out = route.extract(view);
              expect(Array.isArray(out.missing) && Array.isArray(out.invalid)).toBe(true);
              JSON.stringify(out.variables);
            } catch (error) {
              expect(error).toBeInstanceOf(FlowhookError);
              expect((error as FlowhookError).status).toBeLessThan(500);
            }
          }
        }
      }),
      { numRuns: fuzzRuns(300) },
    );
    expect(compiled).toBeGreaterThan(0);
  });
});
