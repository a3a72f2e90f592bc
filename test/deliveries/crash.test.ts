import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { FakeFlowApi } from '../support/fake-flow-api';
import { mappingsDir, tempFolder } from '../support/harness';
import { until } from '../support/until';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'flowhook.js');
const CONCURRENCY = 8;

/** flowhook serve as a child process; resolves with its port once it listens. */
function serve(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [BIN, 'serve'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', HOST: '127.0.0.1', PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no start: ${out}`)), 20_000);
    const onData = (chunk: Buffer) => {
      out += chunk;
      const match = /listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]) });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk) => (out += chunk));
  });
}

describe('crash safety (real processes)', () => {
  let afterCleanup: (() => void) | undefined;
  afterEach(() => {
    afterCleanup?.();
    afterCleanup = undefined;
  });
  beforeAll(() => {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }, 120_000);

  it('kill -9 during 500 async deliveries, then a restart: no acknowledged delivery is lost', async () => {
    const api = await new FakeFlowApi().start();
    api.answerAfter(40); // executions take a while, so some are in flight at the kill
    const env = {
      FLOW_BASE_URL: api.url,
      FLOW_ORG_ID: 'o',
      FLOW_API_TOKEN: 'crash-test-token',
      FLOW_TIMEOUT: '1s', // a crashed holder's lease: 2 × 1 s + 5 s
      MAPPINGS_DIR: mappingsDir({
        'jobs.yaml':
          'mode: async\nverify: { provider: token, header: X-Token, secret: tok }\nrateLimit: off # 500 from one address\nroutes: [{ name: r, flow: f, variables: { n: $.n } }]\n',
      }),
      MAPPINGS_WATCH: 'off',
      DATA_DIR: tempFolder('flowhook-crash-'),
      WORKER_CONCURRENCY: String(CONCURRENCY),
    };
    let first = await serve(env);
    const acknowledged: number[] = [];
    const send = async (n: number) => {
      try {
        const res = await fetch(`http://127.0.0.1:${first.port}/hooks/jobs`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-token': 'tok' },
          body: JSON.stringify({ n }),
        });
        if (res.status === 202) acknowledged.push(n);
      } catch {
        // not acknowledged: a real sender retries; it is not counted as accepted
      }
    };
    for (let n = 0; n < 500; n += 25)
      await Promise.all(Array.from({ length: 25 }, (_, i) => send(n + i)));
    expect(acknowledged).toHaveLength(500);

    await until(async () => api.requests.length >= 150, 30_000, '150 executions before the kill');
    first.child.kill('SIGKILL');
    await new Promise((resolve) => first.child.once('exit', resolve));
    const atKill = api.requests.length;
    expect(atKill).toBeLessThan(500); // the kill came in the middle

    first = await serve(env);
    // A failed expectation below must not leave the child running (jest would not exit).
    const second = first.child;
    afterCleanup = () => {
      second.kill('SIGKILL');
      void api.stop();
    };
    // The restarted process resumes what was queued at once, and what was running at the kill
    // once its lease expires. Watch the shared database until every delivery has finished.
    const store = openSqliteStore({ dataDir: env.DATA_DIR });
    await until(
      async () => (await store.counts()).succeeded === 500,
      60_000,
      'all 500 deliveries to succeed',
    );
    await store.close();
    // Every call the fake flow API received is a run of the flow.
    const runs = new Map<number, number>();
    for (const call of api.requests) {
      const n = (call.body as { n: number }).n;
      runs.set(n, (runs.get(n) ?? 0) + 1);
    }
    expect(acknowledged.filter((n) => !runs.has(n))).toEqual([]);
    const twice = [...runs.values()].filter((count) => count > 1).length;
    // The crash window: a delivery whose call was in flight at the kill (the flow may have run,
    // its success was not committed) runs again. At most the worker's concurrency.
    console.log(
      `crash test: ${atKill} calls before the kill, ${twice} of 500 deliveries ran twice`,
    );
    expect(twice).toBeLessThanOrEqual(CONCURRENCY);
    first.child.kill('SIGTERM');
    await new Promise((resolve) => first.child.once('exit', resolve));
    await api.stop();
  }, 120_000);
});
