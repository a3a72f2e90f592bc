import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../../src/config';
import { parseRate } from '../../src/limits/parse-rate';
import { loadMappings } from '../../src/mappings/load-mappings';
import { createMappingRegistry } from '../../src/mappings/watch-mappings';
import { mappingsDir } from '../support/harness';

const source = (name: string, routes: string, extra = '') => `
source: ${name}
mode: async
verify: { provider: token, header: X-Token, secret: tok }
${extra}
routes:
${routes}
`;

describe('parseRate', () => {
  it.each([
    ['50/s', { count: 50, perMs: 1000 }],
    ['600/min', { count: 600, perMs: 60_000 }],
    ['1000/h', { count: 1000, perMs: 3_600_000 }],
    ['5 / second', { count: 5, perMs: 1000 }],
    ['0/s', undefined],
    ['50', undefined],
    ['50/day', undefined],
    ['-1/s', undefined],
  ])('%s → %j', (text, expected) => {
    expect(parseRate(text)).toEqual(expected);
  });
});

describe('FLOW_MAX_CONCURRENCY, FLOW_RATE and the circuit settings', () => {
  it('unset: no platform limits; the circuit defaults', () => {
    const config = loadConfig({});
    expect(config.flowMaxConcurrency).toBeUndefined();
    expect(config.flowRate).toBeUndefined();
    expect(config.circuit).toEqual({
      failureRatio: 0.5,
      windowMs: 60_000,
      minCalls: 10,
      coolDownMs: 30_000,
    });
  });

  it('set: parsed', () => {
    const config = loadConfig({
      FLOW_MAX_CONCURRENCY: '20',
      FLOW_RATE: '100/s',
      CIRCUIT_FAILURE_PERCENT: '25',
      CIRCUIT_WINDOW: '2m',
      CIRCUIT_MIN_CALLS: '4',
      CIRCUIT_COOLDOWN: '5s',
    });
    expect(config.flowMaxConcurrency).toBe(20);
    expect(config.flowRate).toEqual({ count: 100, perMs: 1000 });
    expect(config.circuit).toEqual({
      failureRatio: 0.25,
      windowMs: 120_000,
      minCalls: 4,
      coolDownMs: 5000,
    });
  });

  it.each([
    ['FLOW_MAX_CONCURRENCY', '0', /FLOW_MAX_CONCURRENCY: "0" is not a whole number/],
    ['FLOW_RATE', 'fast', /FLOW_RATE: "fast" is not a rate such as 50\/s/],
    ['CIRCUIT_FAILURE_PERCENT', '101', /CIRCUIT_FAILURE_PERCENT/],
    ['CIRCUIT_COOLDOWN', '1y', /CIRCUIT_COOLDOWN/],
  ])('%s=%s is a start error', (name, value, message) => {
    expect(() => loadConfig({ [name]: value })).toThrow(message);
  });
});

describe('limits in mapping files', () => {
  it('a route takes its own limits, or the source defaults', () => {
    const set = loadMappings(
      mappingsDir({
        'a.yaml': source(
          'a',
          `  - { name: own, flow: f1, limits: { concurrency: 2 } }
  - { name: inherits, flow: f2 }`,
          'limits: { rate: 600/min }',
        ),
      }),
    );
    expect(set.errors).toEqual([]);
    const routes = set.sources.get('a')!.routes;
    expect(routes[0].limits).toEqual({ concurrency: 2, declaredAt: 'routes[0].limits' });
    expect(routes[1].limits).toEqual({
      rate: { count: 600, perMs: 60_000 },
      declaredAt: 'limits',
    });
  });

  it.each([
    ['limits: { concurrency: 0 }', /limits.concurrency: must be >= 1/],
    ['limits: { rate: 5/day }', /limits.rate: must match/],
    ['limits: { burst: 5 }', /unknown key "burst"/],
    ['limits: {}', /limits: must NOT have fewer than 1 properties/],
  ])('%s is a schema error', (line, message) => {
    const set = loadMappings(
      mappingsDir({ 'a.yaml': source('a', '  - { name: r, flow: f }', line) }),
    );
    expect(set.sources.has('a')).toBe(false);
    expect(set.errors.map((e) => e.message).join('\n')).toMatch(message);
  });

  it('two routes of one file with other limits for one flow: a load error naming both places', () => {
    const set = loadMappings(
      mappingsDir({
        'a.yaml': source(
          'a',
          `  - { name: one, flow: f, limits: { concurrency: 2 } }
  - { name: two, flow: f, limits: { concurrency: 3 } }`,
        ),
      }),
    );
    expect(set.sources.has('a')).toBe(false);
    expect(set.errors[0].message).toMatch(
      /routes\[1\]\.limits: flow "f" is limited to concurrency 3 here \(routes\[1\]\.limits\) but to concurrency 2 at routes\[0\]\.limits/,
    );
  });

  it('two files with other limits for one flow: the second file is refused, naming both places', () => {
    const set = loadMappings(
      mappingsDir({
        'a.yaml': source('a', '  - { name: r, flow: shared, limits: { rate: 50/s } }'),
        'b.yaml': source('b', '  - { name: r, flow: shared }', 'limits: { rate: 10/s }'),
        'c.yaml': source('c', '  - { name: r, flow: shared, limits: { rate: 50/s } }'),
      }),
    );
    expect([...set.sources.keys()].sort()).toEqual(['a', 'c']);
    expect(set.errors).toEqual([
      {
        file: 'b.yaml',
        message:
          'limits: flow "shared" (the default org) is limited to rate 10/s here but to rate 50/s in a.yaml (routes[0].limits); a flow has one budget: declare the same limits in both files, or in one only',
      },
    ]);
  });

  it('one flow in two orgs is two flows: no conflict', () => {
    const set = loadMappings(
      mappingsDir({
        'a.yaml': source('a', '  - { name: r, flow: f, org: o1, limits: { concurrency: 1 } }'),
        'b.yaml': source('b', '  - { name: r, flow: f, org: o2, limits: { concurrency: 9 } }'),
      }),
    );
    expect(set.errors).toEqual([]);
  });

  it('a reload that makes a file conflict refuses that file and keeps its last good version', () => {
    const dir = mappingsDir({
      'a.yaml': source('a', '  - { name: r, flow: shared, limits: { concurrency: 2 } }'),
      'z.yaml': source('z', '  - { name: r, flow: other }'),
    });
    const registry = createMappingRegistry(dir, {});
    // The edited file comes first by name, yet the file that was already serving keeps its flow.
    fs.writeFileSync(
      path.join(dir, 'z.yaml'),
      source('z', '  - { name: r, flow: shared, limits: { concurrency: 5 } }'),
    );
    const set = registry.reload();
    expect(set.errors.map((e) => e.file)).toEqual(['z.yaml']);
    expect(set.errors[0].message).toMatch(/in a\.yaml \(routes\[0\]\.limits\)/);
    expect(set.sources.get('z')!.routes[0].flowId).toBe('other'); // the last good version
    // Fixing the conflict in either file lets the edit in.
    fs.writeFileSync(
      path.join(dir, 'z.yaml'),
      source('z', '  - { name: r, flow: shared, limits: { concurrency: 2 } }'),
    );
    expect(registry.reload().sources.get('z')!.routes[0].flowId).toBe('shared');
  });
});
