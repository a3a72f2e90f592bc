import fs from 'node:fs';
import path from 'node:path';
import { loadMappings, MappingsDirError } from '../../src/mappings/load-mappings';
import { substituteEnv } from '../../src/mappings/substitute-env';
import { mappingsDir } from '../support/harness';

const GOOD = `
verify:
  provider: github
  secret: \${SECRET}
routes:
  - name: r
    flow: f
`;

describe('loadMappings', () => {
  it('loads every .yaml and .yml file; the source is the file name unless declared', () => {
    const dir = mappingsDir({
      'a.yaml': GOOD,
      'b.yml': `source: custom-name\n${GOOD}`,
      'notes.txt': 'ignored',
    });
    const set = loadMappings(dir, { SECRET: 's' });
    expect([...set.sources.keys()].sort()).toEqual(['a', 'custom-name']);
    expect(set.errors).toEqual([]);
    const a = set.sources.get('a');
    expect(a).toMatchObject({ name: 'a', file: 'a.yaml', provider: 'github', dispatch: 'first' });
    expect(a?.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('a source whose ${VAR} is unset is disabled, naming every variable to set', () => {
    const dir = mappingsDir({ 'a.yaml': GOOD.replace('flow: f', 'flow: ${FLOW_ID}') });
    const set = loadMappings(dir, { SECRET: '' });
    expect(set.sources.size).toBe(0);
    expect(set.errors).toEqual([]);
    expect(set.disabled.get('a')).toEqual({
      name: 'a',
      files: ['a.yaml'],
      reason: 'disabled until SECRET, FLOW_ID are set',
      cause: 'missing-env',
    });
  });

  it.each([
    ['YAML syntax', 'verify: [unclosed', /^line 1, column \d+: YAML syntax error/],
    [
      'quoting hint',
      'verify: { provider: github, secret: ${X} }\nroutes: []',
      /hint: quote values/,
    ],
    [
      'not a mapping',
      '- just\n- a list',
      /^line 1, column 1: a mapping file must be a YAML mapping/,
    ],
    [
      'unknown key',
      `${GOOD}\nretries: 3`,
      /^line 9, column 1: retries: unknown key "retries" \(expected one of: source, verify/,
    ],
    [
      'unknown provider',
      GOOD.replace('github', 'githb'),
      /^line 3, column 13: verify.provider: must be one of "github".* — did you mean "github"\?/,
    ],
    ['missing routes', 'verify: { provider: none }', /missing key "routes"/],
    [
      'route without flow',
      'verify: { provider: none }\nroutes: [{ name: r }]',
      /^line 2, column 10: routes\[0\]: missing key "flow"/,
    ],
    [
      'bad operator',
      `${GOOD}    when: [{ path: $.a, equal: b }]`,
      /^line 8, column 25: routes\[0\]\.when\[0\]\.equal: unknown key "equal" — did you mean "equals"\?$/,
    ],
    [
      'variable not JSONPath',
      `${GOOD}    variables: { a: plain }`,
      /^line 8, column 21: routes\[0\]\.variables\.a: must be a JSONPath starting with \$, a \{\{ template \}\}/,
    ],
    [
      'filter expression',
      `${GOOD}    variables: { a: '$.x[?(@.y)]' }`,
      /filter and script expressions are disabled/,
    ],
    [
      'bad regex',
      `${GOOD}    when: [{ path: $.a, matches: '(' }]`,
      /^line 8, column 34: routes\[0\]\.when\[0\]\.matches: invalid regular expression/,
    ],
    [
      'replyWithin on an async source (it would be ignored)',
      `mode: async\nreplyWithin: 5s\n${GOOD}`,
      /^line 2, column 14: replyWithin: replyWithin applies to mode: sync only/,
    ],
    [
      'duplicate route names',
      `${GOOD}  - name: r\n    flow: g\n`,
      /^line 8, column 11: routes\[1\]\.name: the route name "r" is used twice/,
    ],
    [
      'hmac without header',
      'verify: { provider: hmac, secret: s }\nroutes: [{ name: r, flow: f }]',
      /^line 1, column 9: verify: /,
    ],
    [
      'an empty value through ${VAR:-}',
      GOOD.replace('flow: f', 'flow: "${EMPTY:-}"'),
      /^line 7, column 11: routes\[0\]\.flow: after \$\{VAR\} substitution, must not be empty/,
    ],
    ['an unknown mode', `mode: batch\n${GOOD}`, /mode: must be one of "sync", "async"/],
  ])('%s: the file is reported and its source disabled', (_name, text, message) => {
    const dir = mappingsDir({ 'bad.yaml': text, 'good.yaml': GOOD });
    const set = loadMappings(dir, { SECRET: 's', X: 'x' });
    expect(set.errors).toEqual([
      expect.objectContaining({ file: 'bad.yaml', message: expect.stringMatching(message) }),
    ]);
    expect(set.disabled.get('bad')).toMatchObject({ cause: 'invalid' });
    expect([...set.sources.keys()]).toEqual(['good']);
  });

  it('every compile problem of a file, not only the first (issue 10 item 2)', () => {
    const text = `verify: { provider: none }
routes:
  - name: r
    flow: f
    when: [{ path: $.a, matches: '(' }, { path: '$.b[?(@.c)]', equals: 1 }]
    variables: { one: '$.x[?(@.y)]', fine: $.ok, two: { path: '$.z[?(@.w)]' } }
  - name: r
    flow: g
`;
    const set = loadMappings(mappingsDir({ 'bad.yaml': text }));
    expect(set.errors.map((e) => e.path)).toEqual([
      'routes[0].when[0].matches',
      'routes[0].when[1].path',
      'routes[0].variables.one',
      'routes[0].variables.two',
      'routes[1].name',
    ]);
    expect(set.disabled.get('bad')).toMatchObject({ cause: 'invalid' });
  });

  it('a schema problem and a compile problem elsewhere are both reported; one part is not reported twice', () => {
    const text = `verify: { provider: none }
routes:
  - name: r
    flow: f
    when: [{ path: $.a, equal: 1 }]
    variables: { v: '$.x[?(@.y)]' }
`;
    const set = loadMappings(mappingsDir({ 'bad.yaml': text }));
    // The condition with the unknown key is reported once, by the schema; the JSONPath too.
    expect(set.errors.map((e) => e.path)).toEqual([
      'routes[0].when[0].equal',
      'routes[0].variables.v',
    ]);
  });

  it('a value standing for an unset variable is not a problem of its own: the source waits', () => {
    const text = `verify: { provider: none }
routes: [{ name: r, flow: f, variables: { v: { path: "\${VAR_PATH}" } } }]
`;
    for (const placeholders of [false, true]) {
      const set = loadMappings(mappingsDir({ 'w.yaml': text }), {}, { placeholders });
      expect(set.errors).toEqual([]);
      expect(set.disabled.get('w')).toMatchObject({ cause: 'missing-env' });
      expect(set.unsetVariables).toEqual([
        expect.objectContaining({ variable: 'VAR_PATH', path: 'routes[0].variables.v.path' }),
      ]);
    }
  });

  it('two files claiming one source disable it, name both, and suggest renaming source: (issue 10)', () => {
    const dir = mappingsDir({
      'a.yaml': `source: same\n${GOOD}`,
      'b.yaml': `source: same\n${GOOD}`,
    });
    const set = loadMappings(dir, { SECRET: 's' });
    expect(set.sources.size).toBe(0);
    expect(set.disabled.get('same')?.reason).toBe(
      'source "same" is defined by more than one file: a.yaml, b.yaml; give each file its own `source:` (its URL is /hooks/<source>), or remove the old file',
    );
    expect(set.errors.map((e) => e.file)).toEqual(['a.yaml', 'b.yaml']);
  });

  it('a file name that cannot be a URL segment is an error unless source: is set', () => {
    const set = loadMappings(
      mappingsDir({ 'my hooks.yaml': GOOD, 'ok name.yaml': `source: ok\n${GOOD}` }),
      { SECRET: 's' },
    );
    expect(set.errors).toEqual([
      { file: 'my hooks.yaml', message: expect.stringContaining('rename the file or set source:') },
    ]);
    expect([...set.sources.keys()]).toEqual(['ok']);
  });

  it('provider: none in a file that fails to compile gives the error, not the warning', () => {
    const set = loadMappings(
      mappingsDir({
        'open.yaml':
          "verify: { provider: none }\nroutes: [{ name: r, flow: f, when: [{ path: $.a, matches: '(' }] }]",
      }),
    );
    expect(set.warnings).toEqual([]);
    expect(set.errors).toHaveLength(1);
  });

  it('provider: none loads with a warning', () => {
    const set = loadMappings(
      mappingsDir({ 'open.yaml': 'verify: { provider: none }\nroutes: [{ name: r, flow: f }]' }),
    );
    expect(set.sources.has('open')).toBe(true);
    expect(set.warnings).toEqual([
      { file: 'open.yaml', message: expect.stringContaining('anyone can call it') },
    ]);
  });

  it('a missing folder is a start error naming MAPPINGS_DIR', () => {
    expect(() => loadMappings('/nonexistent/flowhook')).toThrow(MappingsDirError);
    expect(() => loadMappings('/nonexistent/flowhook')).toThrow(/^MAPPINGS_DIR: .* does not exist/);
  });

  it('the shipped examples are valid and each names the variables it needs', () => {
    const dir = path.join(__dirname, '..', '..', 'mappings');
    const set = loadMappings(dir, {});
    expect(set.errors).toEqual([]);
    for (const file of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
      const text = fs.readFileSync(path.join(dir, file), 'utf8');
      expect(text.startsWith('# yaml-language-server: $schema=../schema/mapping.schema.json')).toBe(
        true,
      );
      for (const name of text.match(/\$\{([A-Z_]+)\}/g) ?? []) {
        expect(text).toMatch(new RegExp(`^# Set: .*${name.slice(2, -1)}`, 'm'));
      }
    }
  });
});

describe('substituteEnv', () => {
  it('replaces references in values only, with fallbacks, and lists what is missing', () => {
    const doc = {
      '${KEY}': 'v',
      a: '${A}',
      b: ['x-${B:-dflt}', 1, true, null],
      c: { d: '${MISSING}${ALSO}' },
    };
    const { value, missing } = substituteEnv(doc, { A: 'alpha', KEY: 'nope' });
    expect(JSON.parse(JSON.stringify(value))).toEqual({
      '${KEY}': 'v',
      a: 'alpha',
      b: ['x-dflt', 1, true, null],
      c: { d: '' },
    });
    expect(missing).toEqual(['MISSING', 'ALSO']);
  });

  it('a value from the environment cannot change the document structure', () => {
    const { value } = substituteEnv({ secret: '${S}' }, { S: 'x\nroutes: []\n{evil: 1}' });
    expect(JSON.parse(JSON.stringify(value))).toEqual({ secret: 'x\nroutes: []\n{evil: 1}' });
  });
});
