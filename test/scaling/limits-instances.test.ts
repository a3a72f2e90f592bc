import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildOnce, startFlowhook, type FlowhookProcess } from '../support/flowhook-process';
import { mappingsDir } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { until } from '../support/until';
import { maxOverlap } from '../limits/support';

// Issue 14: the limits held across instances. Three flowhook processes on one PostgreSQL
// database, each with a DATA_DIR of its own (so nothing is shared through a SQLite file): a flow
// with `concurrency: 3` never has more than 3 calls in flight in all, and a pause asked of one
// instance holds on every one of them.

const INSTANCES = 3;
const ADMIN_TOKEN = 'limits-admin-token-0123456789';

// rateLimit: off: every request comes from the test's one address (issue 9, item 4).
const source = (flow: string, limits = '') =>
  `mode: async\nverify: { provider: token, header: X-Token, secret: tok }\nrateLimit: off\n` +
  `routes: [{ name: r, flow: ${flow}, variables: { n: $.n }${limits} }]\n`;

const FILES = {
  'limited.yaml': source('limited-flow', ', limits: { concurrency: 3 }'),
  'paused.yaml': source('paused-flow'),
};

let database: TestDatabase;
let api: FakeFlowApi;
let instances: FlowhookProcess[] = [];
const dataDirs: string[] = [];

async function post(instance: FlowhookProcess, url: string, body?: unknown) {
  const res = await fetch(`${instance.url}${url}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(url.startsWith('/api/')
        ? { authorization: `Bearer ${ADMIN_TOKEN}` }
        : { 'x-token': 'tok' }),
    },
    body: JSON.stringify(body ?? {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** `count` deliveries {n} to `name`, round robin over the instances, 30 at a time; all must be 202. */
async function sendAll(name: string, count: number): Promise<void> {
  for (let start = 0; start < count; start += 30) {
    const answers = await Promise.all(
      Array.from({ length: Math.min(30, count - start) }, (_, i) =>
        post(instances[(start + i) % INSTANCES], `/hooks/${name}`, { n: start + i }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
  }
}

async function states(name: string): Promise<Record<string, number>> {
  const rows = await database.sql<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM deliveries WHERE source = $1 GROUP BY state',
    [name],
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** How many times the flow ran for each n. */
function runsOf(flow: string): number[] {
  const runs: number[] = [];
  for (const call of api.callsOf(flow)) {
    const n = (call.body as { n: number }).n;
    runs[n] = (runs[n] ?? 0) + 1;
  }
  return runs;
}

beforeAll(async () => {
  buildOnce();
  database = await createTestDatabase();
  api = await new FakeFlowApi().start();
  const base = {
    DATABASE_URL: database.url,
    DATABASE_POOL_SIZE: '5',
    FLOW_BASE_URL: api.url,
    FLOW_ORG_ID: 'org',
    FLOW_API_TOKEN: 'limits-flow-token',
    FLOW_TIMEOUT: '3s',
    MAPPINGS_DIR: mappingsDir(FILES),
    MAPPINGS_WATCH: 'off',
    WORKER_CONCURRENCY: '8',
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    // The circuit is not what this file tests.
    CIRCUIT_MIN_CALLS: '100000',
  };
  instances = await Promise.all(
    Array.from({ length: INSTANCES }, () => {
      const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-limits-instance-'));
      dataDirs.push(dataDir);
      return startFlowhook({ ...base, DATA_DIR: dataDir });
    }),
  );
}, 120_000);

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await api?.stop().catch(() => undefined);
  await database?.drop();
  for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('limits shared by three instances on one PostgreSQL database (issue 14)', () => {
  it('concurrency 3: 150 deliveries over three instances never have more than 3 calls in flight', async () => {
    // Calls long against the time a freed slot takes to be taken again (another instance's
    // worker, a wake-up, a PostgreSQL round trip): with 40 ms, one run in a few never had all
    // three slots busy at once on a loaded machine, though the budget was there to use.
    api.answerFlow('limited-flow', { kind: 'slow', ms: 120 });
    await sendAll('limited', 150);
    await until(
      async () => (await states('limited')).succeeded === 150,
      90_000,
      '150 limited deliveries succeeded',
      250,
    );
    expect(runsOf('limited-flow').filter((n) => n === 1)).toHaveLength(150);
    const overlap = maxOverlap(api.callsOf('limited-flow'));
    expect(overlap).toBeLessThanOrEqual(3);
    expect(overlap).toBe(3); // the budget is used, not just respected
  }, 120_000);

  it('a pause asked of one instance holds on all three; resumed on another, each delivery runs once', async () => {
    const paused = await post(instances[0], '/api/sources/paused/pause');
    expect(paused).toEqual({
      status: 200,
      body: { source: 'paused', paused: true, changed: true },
    });
    await sendAll('paused', 30);
    // Every delivery was looked at by some instance's worker and sent back to wait.
    await until(
      async () =>
        (
          await database.sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM deliveries
             WHERE source = 'paused' AND state = 'queued' AND next_attempt_at IS NOT NULL`,
          )
        )[0].n === 30,
      30_000,
      'the 30 paused deliveries sent back to wait',
      100,
    );
    expect(api.callsOf('paused-flow')).toHaveLength(0);
    const sources = await fetch(`${instances[2].url}/api/sources`, {
      headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
    });
    const listed = (await sources.json()) as { sources: { name: string; paused: boolean }[] };
    expect(listed.sources.find((s) => s.name === 'paused')).toMatchObject({ paused: true });

    const resumed = await post(instances[1], '/api/sources/paused/resume');
    expect(resumed).toMatchObject({
      status: 200,
      body: { paused: false, changed: true, woken: 30 },
    });
    await until(
      async () => (await states('paused')).succeeded === 30,
      30_000,
      'the 30 resumed deliveries succeeded',
      100,
    );
    expect(runsOf('paused-flow').filter((n) => n === 1)).toHaveLength(30);
    expect(api.callsOf('paused-flow')).toHaveLength(30);
  }, 90_000);
});
