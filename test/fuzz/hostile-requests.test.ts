import { execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { startServer, type RunningServer } from '../../src/server';
import { FakeFlowApi } from '../support/fake-flow-api';
import { memoryLogger, mappingsDir, tempFolder } from '../support/harness';
import { fuzzRuns } from './fuzz-runs';
import { hostileRequest, seededRng, type FuzzSecrets } from './hostile-requests';

// Issue 9, "a fuzz suite that stays": generated hostile requests (random bytes, broken JSON and
// forms, deep nesting, huge numbers, invalid UTF-8, content-type and encoding tricks, header
// floods, path tricks, methods, framing) against a real flowhook on a loopback port. Asserts: no
// answer ≥ 500, the process alive and answering, RSS bounded, no secret in any answer or log line.
// `npm test` runs a short round in-process; `npm run fuzz` runs ≥ 12,000 against `flowhook serve`
// in a child process (FUZZ_TARGET=child). FUZZ_SEED reproduces a run.
const SECRETS: FuzzSecrets = {
  github: 'fuzz-github-secret-0123456789',
  stripe: 'whsec_fuzz_stripe_secret_0123456789',
  formToken: 'fuzz-form-token-0123456789',
  flowToken: 'fuzz-flow-api-token-0123456789',
};
const SEED = Number(process.env.FUZZ_SEED ?? 9009);
const REQUESTS = fuzzRuns(1200);
const CHILD = process.env.FUZZ_TARGET === 'child';
/** Above the idle process by this much, RSS means something is kept per request. */
const RSS_GROWTH_LIMIT = 256 * 1024 * 1024;
const ROOT = path.join(__dirname, '..', '..');

const FILES = {
  'github.yaml': `
verify: { provider: github, secret: "\${GH_SECRET}" }
routes:
  - name: redos
    when: [{ path: $.text, matches: '^(a+)+$' }]
    flow: f-redos
    variables: { text: $.text }
  - name: everything
    when: [{ header: X-GitHub-Event, equals: push }]
    flow: f-all
    variables:
      all: { path: '$..*', all: true }
      ref: { path: $.ref, type: string }
      event: { header: X-GitHub-Event }
`,
  'stripe.yaml': `
verify: { provider: stripe, secret: "\${STRIPE_SECRET}" }
routes: [{ name: any, flow: f-stripe, variables: { id: $.id, n: { path: $.n, type: number } } }]
`,
  'form.yaml': `
verify: { provider: token, secret: "\${FORM_TOKEN}" }
routes:
  - name: contact
    flow: f-form
    variables:
      a: { path: $.a, all: true }
      text: "{{ $.text }} from {{ header.X-Text }}"
`,
  'open.yaml': `
verify: { provider: none }
routes:
  - name: header-redos
    when: [{ header: X-Text, matches: '^(a+)+$' }]
    flow: f-open
  - name: query-redos
    when: [{ query: text, matches: '^(a+)+$' }]
    flow: f-open
  - name: rest
    when: [{ not: { path: $.never, exists: true } }]
    flow: f-open
    variables:
      key: { query: key }
      anything: { header: X-Anything }
      nested: { path: '$..a', all: true }
      whole: $
`,
};

interface Target {
  readonly port: number;
  /** Every log line so far. */
  logText(): string;
  /** The process's resident set size, in bytes. */
  rss(): number;
  alive(): boolean;
  close(): Promise<void>;
}

function env(api: FakeFlowApi): Record<string, string> {
  return {
    HOST: '127.0.0.1',
    PORT: '0',
    MAPPINGS_DIR: mappingsDir(FILES),
    MAPPINGS_WATCH: 'off',
    DATA_DIR: tempFolder('flowhook-fuzz-'),
    STORE_SYNC: 'normal',
    BODY_LIMIT: '512kb',
    FLOW_BASE_URL: api.url,
    FLOW_ORG_ID: 'fuzz-org',
    FLOW_API_TOKEN: SECRETS.flowToken,
    GH_SECRET: SECRETS.github,
    STRIPE_SECRET: SECRETS.stripe,
    FORM_TOKEN: SECRETS.formToken,
    LOG_LEVEL: 'info',
  };
}

async function inProcess(api: FakeFlowApi): Promise<Target> {
  const logs = memoryLogger();
  const running: RunningServer = await startServer(env(api), logs.logger);
  return {
    port: running.port,
    logText: logs.text,
    rss: () => process.memoryUsage().rss,
    alive: () => running.server.listening,
    close: () => running.close(),
  };
}

async function child(api: FakeFlowApi): Promise<Target> {
  execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
    cwd: ROOT,
    stdio: 'inherit',
  });
  const proc = spawn(process.execPath, [path.join(ROOT, 'bin', 'flowhook.js'), 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env(api) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  proc.stdout.on('data', (chunk) => (out += chunk));
  proc.stderr.on('data', (chunk) => (out += chunk));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening" line: ${out}`)), 60_000);
    proc.stdout.on('data', () => {
      const match = /"port":(\d+)[^\n]*"msg":"listening/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(Number(match[1]));
      }
    });
    proc.on('exit', () => reject(new Error(`exited: ${out}`)));
  });
  return {
    port,
    logText: () => out,
    rss: () => {
      const status = fs.readFileSync(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
    },
    alive: () => proc.exitCode === null && proc.signalCode === null,
    close: () =>
      new Promise((resolve) => {
        proc.on('exit', () => resolve());
        proc.kill('SIGTERM');
      }),
  };
}

/** Writes the bytes, half-closes, and reads every status line of what comes back. */
function send(port: number, bytes: Buffer): Promise<{ statuses: number[]; text: string }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = () => {
      clearTimeout(timer);
      const text = Buffer.concat(chunks).toString('latin1');
      const statuses = [...text.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)].map((m) =>
        Number(m[1]),
      );
      resolve({ statuses, text });
    };
    // A request the server waits on for ever (a body shorter than announced) is its own to end.
    const timer = setTimeout(() => socket.destroy(), 40_000);
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', done);
    socket.end(bytes);
  });
}

async function get(port: number, path: string): Promise<number> {
  const { statuses } = await send(
    port,
    Buffer.from(`GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
  );
  return statuses[0] ?? 0;
}

describe('issue 9 fuzz: hostile requests against a real flowhook', () => {
  let api: FakeFlowApi;
  let target: Target;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    target = CHILD ? await child(api) : await inProcess(api);
  }, 120_000);
  afterAll(async () => {
    await target?.close();
    await api?.stop();
  });

  it(`${REQUESTS} requests (seed ${SEED}): no answer ≥ 500, alive, RSS bounded, no secret out`, async () => {
    const rng = seededRng(SEED);
    const idleRss = target.rss();
    let maxRss = idleRss;
    const byStatus = new Map<number, number>();
    const serverErrors: string[] = [];
    const leaks: string[] = [];
    const secrets = Object.values(SECRETS).map((s) => s.toLowerCase());
    let next = 0;
    const worker = async () => {
      while (next < REQUESTS) {
        next += 1;
        const hostile = hostileRequest(rng, SECRETS);
        const { statuses, text } = await send(target.port, hostile.bytes);
        for (const status of statuses.length > 0 ? statuses : [0]) {
          byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
          if (status >= 500)
            serverErrors.push(
              `${status} for ${hostile.kind}: ${text.slice(text.indexOf('\r\n\r\n')).slice(0, 400)}`,
            );
        }
        const lower = text.toLowerCase();
        if (secrets.some((s) => lower.includes(s))) leaks.push(`answer to ${hostile.kind}`);
        if (next % 100 === 0) maxRss = Math.max(maxRss, target.rss());
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    maxRss = Math.max(maxRss, target.rss());

    expect(serverErrors).toEqual([]);
    expect(leaks).toEqual([]);
    const logs = target.logText().toLowerCase();
    expect(secrets.filter((s) => logs.includes(s))).toEqual([]);
    expect(target.alive()).toBe(true);
    expect(await get(target.port, '/healthz')).toBe(200);
    expect(maxRss - idleRss).toBeLessThan(RSS_GROWTH_LIMIT);
    // What the run covered, for the record (npm run fuzz prints it).
    const summary = [...byStatus.entries()].sort(([a], [b]) => a - b);
    console.log(
      `fuzz: ${REQUESTS} requests, seed ${SEED}, answers by status ${JSON.stringify(summary)}, ` +
        `RSS ${Math.round(idleRss / 2 ** 20)} → max ${Math.round(maxRss / 2 ** 20)} MiB`,
    );
    // The flow API was really called: the hostile mix reached execution too.
    expect(api.requests.length).toBeGreaterThan(0);
  }, 1_800_000);
});
