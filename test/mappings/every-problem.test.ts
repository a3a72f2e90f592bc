import fs from 'node:fs';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { cli } from '../support/cli';
import { mappingsDir, memoryLogger, tempFolder } from '../support/harness';
import { until } from '../support/until';

// Issue 10 items 2 and 3: every problem of a file in one run, the same set in `flowhook
// validate`, `flowhook test`, the start log, the reload log and /readyz; unset variables with a
// "did you mean", and `validate --strict` for CI.

/** Three different mistakes: an unknown key, a broken JSONPath, a misspelt variable. */
const THREE_MISTAKES = `verify: { provider: github, secret: "\${BILLING_SECRET}" }
routes:
  - name: invoice
    flow: \${BILLING_FLOW_IDD}
    whn: [{ header: X-Event, equals: invoice }]
    variables:
      id: { path: "$.data[?(@.x)]" }
`;
const ENV = { BILLING_SECRET: 'billing-secret-value', BILLING_FLOW_ID: 'flow-1' };

/** The three, each with its line, column and key path. */
const EXPECTED = [
  /line 4, column 11: routes\[0\]\.flow: \$\{BILLING_FLOW_IDD\} is not set — did you mean BILLING_FLOW_ID\?/,
  /line 5, column 5: routes\[0\]\.whn: unknown key "whn" — did you mean "when"\?/,
  /line 7, column 11: routes\[0\]\.variables\.id: JSONPath "\$\.data\[\?\(@\.x\)\]": filter and script expressions are disabled/,
];

function expectAllThree(lines: readonly string[]): void {
  for (const expected of EXPECTED) {
    expect(lines.filter((line) => expected.test(line))).toHaveLength(1);
  }
}

describe('every problem of a mapping file, in one run, the same everywhere (issue 10 item 2)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mappingsDir({ 'billing.yaml': THREE_MISTAKES });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('flowhook validate: all three, exit 1', async () => {
    const result = await cli(['validate', dir], ENV);
    expect(result.code).toBe(1);
    expectAllThree(`${result.err}${result.out}`.split('\n'));
    // The unset variable is not an error without --strict; the other two are.
    expect(result.out).toContain(`2 problem(s) in ${dir}`);
    const json = JSON.parse((await cli(['validate', dir, '--json'], ENV)).out);
    expectAllThree(json.problems.map((p: { message: string }) => p.message));
    expect(json.problems.map((p: { variable?: string }) => p.variable ?? null)).toEqual([
      'BILLING_FLOW_IDD',
      null,
      null,
    ]);
  });

  it('flowhook test: all three, exit 2 (the source cannot be tried)', async () => {
    const payload = path.join(dir, 'payload.json');
    fs.writeFileSync(payload, '{"data": []}');
    const result = await cli(['test', 'billing', payload, '--mappings', dir], ENV);
    expect(result.code).toBe(2);
    expect(result.err).toContain('its mapping file has 3 problem(s)');
    expectAllThree(result.err.split('\n'));
  });

  describe('the server: start log, /readyz, reload log', () => {
    let server: RunningServer | undefined;
    let dataDir: string;
    afterEach(async () => {
      await server?.close();
      server = undefined;
      fs.rmSync(dataDir, { recursive: true, force: true });
    });

    it('all three at start, in /readyz, and again when an edit brings them back', async () => {
      dataDir = tempFolder('flowhook-data-');
      const logs = memoryLogger();
      server = await startServer(
        { ...ENV, MAPPINGS_DIR: dir, DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: '0' },
        logs.logger,
      );
      const messages = () => logs.lines().map((l) => String(l.msg));
      expectAllThree(messages());
      // An error for what needs fixing, a warning for the variable the source waits for.
      const levels = logs
        .lines()
        .filter((l) => String(l.msg).startsWith('mapping file billing.yaml:'))
        .map((l) => l.level);
      expect(levels.sort()).toEqual([40, 50, 50]);

      const ready = (await (await fetch(`http://127.0.0.1:${server.port}/readyz`)).json()) as {
        problems: { file: string; message: string }[];
      };
      expectAllThree(ready.problems.map((p) => p.message));
      expect(JSON.stringify(ready)).not.toContain(ENV.BILLING_SECRET);

      // Fixed, then broken again by an edit: the reload log lists all three again.
      const file = path.join(dir, 'billing.yaml');
      fs.writeFileSync(
        file,
        THREE_MISTAKES.replace('IDD', 'ID').replace('whn', 'when').replace('[?(@.x)]', '[0]'),
      );
      await until(
        () => logs.lines().some((l) => l.msg === 'mappings reloaded'),
        10_000,
        'the fixed file reloaded',
      );
      const before = logs.lines().length;
      fs.writeFileSync(file, `# broken again\n${THREE_MISTAKES}`);
      const reloaded = () => logs.lines().slice(before);
      await until(
        () => reloaded().some((l) => l.msg === 'mappings reloaded'),
        10_000,
        'the broken edit reloaded',
      );
      // One line further down: the comment.
      const shifted = reloaded().map((l) =>
        String(l.msg).replace(/line (\d+)/, (_m, n: string) => `line ${Number(n) - 1}`),
      );
      expectAllThree(shifted);
    });
  });
});

describe('unset variables: "did you mean", and validate --strict (issue 10 item 3)', () => {
  const MISSPELT = `verify: { provider: github, secret: "\${BILLING_SECRET}" }
routes:
  - name: invoice
    flow: "\${BILLING_FLOW_IDD}"
`;
  let dir: string;
  beforeEach(() => {
    dir = mappingsDir({ 'billing.yaml': MISSPELT });
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without --strict: exit 0, the variable reported where it is used, with the set one a typo away', async () => {
    const result = await cli(['validate', dir], ENV);
    expect(result).toMatchObject({ code: 0, err: '' });
    expect(result.out).toContain(
      `${path.join(dir, 'billing.yaml')}: line 4, column 12: routes[0].flow: \${BILLING_FLOW_IDD} is not set — did you mean BILLING_FLOW_ID?\n`,
    );
    expect(result.out).toContain('source "billing" disabled until BILLING_FLOW_IDD is set');
    expect(result.out).toContain('--strict makes them errors');
  });

  it('--strict: the same line as an error, exit 1 (for CI)', async () => {
    const result = await cli(['validate', dir, '--strict'], ENV);
    expect(result.code).toBe(1);
    expect(result.err).toContain('${BILLING_FLOW_IDD} is not set — did you mean BILLING_FLOW_ID?');
    expect(result.out).toContain('1 problem(s)');
    const json = JSON.parse((await cli(['validate', dir, '--strict', '--json'], ENV)).out);
    expect(json).toMatchObject({ valid: false, strict: true });
  });

  it('--strict with every variable set: exit 0', async () => {
    const result = await cli(['validate', dir, '--strict'], {
      ...ENV,
      BILLING_FLOW_IDD: 'flow-2',
    });
    expect(result).toMatchObject({ code: 0, err: '' });
  });

  it.each([
    ['two edits away', { BILLING_FLOW_I: 'x', BILLING_SECRET: 's' }],
    ['nothing alike', { OTHER: 'x', BILLING_SECRET: 's' }],
    ['one edit away but empty (unset)', { BILLING_FLOW_ID: '', BILLING_SECRET: 's' }],
  ])('no suggestion when no set variable is one edit away: %s', async (_what, env) => {
    const result = await cli(['validate', dir], env);
    expect(result.out).toMatch(/\$\{BILLING_FLOW_IDD\} is not set\n/);
    expect(result.out).not.toContain('did you mean');
  });

  it('flowhook test names it too, with the suggestion, and still explains the request', async () => {
    const payload = path.join(dir, 'payload.json');
    fs.writeFileSync(payload, '{}');
    const result = await cli(['test', 'billing', payload, '--mappings', dir], ENV);
    expect(result.code).toBe(0);
    expect(result.out).toContain('unset variables, shown by name: BILLING_FLOW_IDD, FLOW_ORG_ID');
    expect(result.out).toContain(
      'billing.yaml: line 4, column 12: routes[0].flow: ${BILLING_FLOW_IDD} is not set — did you mean BILLING_FLOW_ID?',
    );
    expect(result.out).toContain('route invoice: MATCHED');
  });

  it('the server logs where it is used, as a warning with the suggestion, beside the disabled source', async () => {
    const dataDir = tempFolder('flowhook-data-');
    const logs = memoryLogger();
    const server = await startServer(
      {
        ...ENV,
        MAPPINGS_DIR: dir,
        DATA_DIR: dataDir,
        HOST: '127.0.0.1',
        PORT: '0',
        MAPPINGS_WATCH: 'off',
      },
      logs.logger,
    );
    try {
      const lines = logs.lines().filter((l) => String(l.msg).includes('BILLING_FLOW_IDD'));
      expect(lines).toEqual([
        expect.objectContaining({
          level: 40,
          msg: 'source "billing" disabled until BILLING_FLOW_IDD is set',
        }),
        expect.objectContaining({
          level: 40,
          variable: 'BILLING_FLOW_IDD',
          msg: 'mapping file billing.yaml: line 4, column 12: routes[0].flow: ${BILLING_FLOW_IDD} is not set — did you mean BILLING_FLOW_ID?',
        }),
      ]);
    } finally {
      await server.close();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
