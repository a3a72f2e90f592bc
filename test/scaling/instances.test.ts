import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';
import { buildOnce, startFlowhook, type FlowhookProcess } from '../support/flowhook-process';
import { mappingsDir } from '../support/harness';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { until } from '../support/until';

// Issue 11: three flowhook processes on one PostgreSQL database, requests spread over them.
// Each test uses sources of its own, so it counts only its deliveries; the instances and the
// fake flow API are shared, in this order: the flow API down then 503 then back; 50 copies; a
// replay of a running delivery; connections killed mid-load; one instance killed mid-burst.

const INSTANCES = 3;
const CONCURRENCY = 8;
const ADMIN_TOKEN = 'scaling-admin-token-0123456789';
const DB_PASSWORD = 'pg-password-never-shown';
const FLOW_TOKEN = 'scaling-flow-token';

// rateLimit: off: every request comes from the test's one address, far past the default 60 a
// minute of a token source (issue 9, item 4).
const asyncSource = (name: string) =>
  `mode: async\nverify: { provider: token, header: X-Token, secret: tok }\nrateLimit: off\nroutes: [{ name: r, flow: ${name}, variables: { n: $.n } }]\n`;

const FILES = {
  'recover.yaml': asyncSource('recover-flow'),
  'slow.yaml': asyncSource('slow-flow'),
  'outage.yaml': asyncSource('outage-flow'),
  'burst.yaml': asyncSource('burst-flow'),
  'keyed.yaml': `
mode: sync
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off
idempotency: { key: { path: $.eventId } }
routes: [{ name: r, flow: keyed-flow, variables: { n: $.n } }]
`,
};

let database: TestDatabase;
let dataDir = '';
let api: FakeFlowApi;
let apiPort: number;
let instances: FlowhookProcess[] = [];

/** One keep-alive agent per test run, so 600 requests do not open 600 sockets. */
const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });

interface Answer {
  status: number;
  body: Record<string, unknown>;
  headers: http.IncomingHttpHeaders;
}

/** A POST to one instance; a connection error resolves as status 0 (not acknowledged). */
function send(
  instance: FlowhookProcess,
  path: string,
  body: unknown,
  headers: Record<string, string> = { 'x-token': 'tok' },
): Promise<Answer> {
  const payload = JSON.stringify(body);
  return new Promise((resolve) => {
    const req = http.request(
      `${instance.url}${path}`,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', ...headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          let parsed: Record<string, unknown>;
          try {
            parsed = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
          } catch {
            parsed = {};
          }
          resolve({ status: res.statusCode ?? 0, body: parsed, headers: res.headers });
        });
      },
    );
    req.on('error', () => resolve({ status: 0, body: {}, headers: {} }));
    req.end(payload);
  });
}

/** `count` async deliveries {n} to `source`, round robin over the instances, `batch` at a time. */
async function burst(
  source: string,
  count: number,
  targets: FlowhookProcess[] = instances,
  batch = 30,
): Promise<{ acknowledged: number[]; statuses: number[] }> {
  const acknowledged: number[] = [];
  const statuses: number[] = [];
  for (let start = 0; start < count; start += batch) {
    await Promise.all(
      Array.from({ length: Math.min(batch, count - start) }, async (_, i) => {
        const n = start + i;
        const answer = await send(targets[n % targets.length], `/hooks/${source}`, { n });
        statuses.push(answer.status);
        if (answer.status === 202) acknowledged.push(n);
      }),
    );
  }
  return { acknowledged, statuses };
}

/** Deliveries of `source` by state, read from the shared database. */
async function states(source: string): Promise<Record<string, number>> {
  const rows = await database.sql<{ state: string; n: number }>(
    'SELECT state, count(*)::int AS n FROM deliveries WHERE source = $1 GROUP BY state',
    [source],
  );
  return Object.fromEntries(rows.map((r) => [r.state, r.n]));
}

/** How many times the flow ran for each n (calls the fake flow API answered 200). */
function runsOf(flow: string): Map<number, number> {
  const runs = new Map<number, number>();
  for (const call of api.requests) {
    if (!call.path.includes(flow) || call.status !== 200) continue;
    const n = (call.body as { n: number }).n;
    runs.set(n, (runs.get(n) ?? 0) + 1);
  }
  return runs;
}

beforeAll(async () => {
  buildOnce();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-instances-'));
  database = await createTestDatabase();
  // The flow API is down when the instances start: nothing listens on its port yet.
  apiPort = Number(new URL(await refusingUrl()).port);
  const url = new URL(database.url);
  url.username = 'postgres';
  url.password = DB_PASSWORD; // trust auth ignores it; it must still never be shown
  const env = {
    DATABASE_URL: url.toString(),
    DATABASE_POOL_SIZE: '5',
    FLOW_BASE_URL: `http://127.0.0.1:${apiPort}`,
    FLOW_ORG_ID: 'org',
    FLOW_API_TOKEN: FLOW_TOKEN,
    // Long enough for the replay test to find its call in flight on a busy machine; a crashed
    // holder's lease is 2 × 3 s + 5 s.
    FLOW_TIMEOUT: '3s',
    MAPPINGS_DIR: mappingsDir(FILES),
    MAPPINGS_WATCH: 'off',
    WORKER_CONCURRENCY: String(CONCURRENCY),
    ADMIN_TOKEN,
    LOG_LEVEL: 'info',
    // The per-flow limits' state (circuits, slots) is kept in DATA_DIR's SQLite file: one of the
    // test's own, not the working directory's, shared by the three instances as on one machine.
    DATA_DIR: dataDir,
    // This file tests delivery under outages, not the circuit breaker (test/limits/): a circuit
    // opened by the refusing flow API would hold the deliveries it expects to see retried.
    CIRCUIT_MIN_CALLS: '100000',
  };
  // All three at once: the schema is created by one of them, the others wait for it.
  instances = await Promise.all(Array.from({ length: INSTANCES }, () => startFlowhook(env)));
  api = new FakeFlowApi();
}, 120_000);

/**
 * The flow API on its port: the first test starts it late (it is down when the instances start);
 * a test run alone (`-t`) starts it here, so it does not depend on the ones before it.
 */
async function apiUp(): Promise<void> {
  if (!api.listening) await api.start(apiPort);
}

afterAll(async () => {
  await Promise.all(instances.map((i) => i.stop()));
  await api.stop().catch(() => undefined);
  agent.destroy();
  await database.drop();
  fs.rmSync(dataDir, { recursive: true, force: true });
}, 60_000);

describe('three instances on one PostgreSQL database (issue 11)', () => {
  it('600 async deliveries while the flow API refuses, then answers 503, then recovers: each executed exactly once', async () => {
    const { acknowledged } = await burst('recover', 600);
    expect(acknowledged).toHaveLength(600);
    // Refused connections first: attempts fail and retries are scheduled.
    await until(
      async () =>
        (
          await database.sql<{ n: number }>(
            `SELECT count(*)::int AS n FROM attempts a JOIN deliveries d ON d.id = a.delivery_id
             WHERE d.source = 'recover' AND a.outcome = 'failed'`,
          )
        )[0].n >= 30,
      60_000,
      '30 refused attempts',
      250,
    );
    // Then 503 with Retry-After, for a while.
    await api.start(apiPort);
    api.answer(503, { error: 'busy' }, { 'retry-after': '1' });
    // Short phases (counted, not timed): each delivery fails a few times at most, so its
    // backoff stays in seconds however slow the machine is.
    await until(() => api.requests.length >= 30, 60_000, '30 calls answered 503');
    api.answer(200);
    await until(
      async () => (await states('recover')).succeeded === 600,
      200_000,
      'all 600 to succeed',
      250,
    );
    const runs = runsOf('recover-flow');
    expect(runs.size).toBe(600);
    expect([...runs.values()].every((count) => count === 1)).toBe(true);
    // Every instance took part: each ran some of them (they are claimed from one queue).
    expect(await states('recover')).toEqual({ succeeded: 600 });
  }, 330_000);

  it('50 concurrent copies of one delivery spread over the three: 1 execution, every sender gets the same answer', async () => {
    await apiUp();
    api.answerAfter(300); // the first is still running while the copies arrive
    const answers = await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        send(instances[i % INSTANCES], '/hooks/keyed', { eventId: 'evt_spread', n: 50 }),
      ),
    );
    expect(answers.map((a) => a.status)).toEqual(Array(50).fill(200));
    const sessions = new Set(answers.map((a) => a.body.sessionId));
    expect(sessions.size).toBe(1);
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(49);
    expect([...runsOf('keyed-flow').values()]).toEqual([1]);
    api.answer(200);
  }, 60_000);

  it('a replay asked of instance B for a delivery received by A and still running: 409 delivery_running, never a second run', async () => {
    await apiUp();
    api.hang();
    const received = await send(instances[0], '/hooks/slow', { n: 1 });
    expect(received.status).toBe(202);
    const id = received.body.deliveryId as string;
    await until(
      async () => api.requests.filter((r) => r.path.includes('slow-flow')).length === 1,
      10_000,
      'the flow call to be in flight',
    );
    for (const other of instances.slice(1)) {
      const replay = await send(other, `/api/deliveries/${id}/replay`, undefined, {
        authorization: `Bearer ${ADMIN_TOKEN}`,
      });
      expect(replay.status).toBe(409);
      expect(replay.body).toMatchObject({ code: 'delivery_running' });
    }
    expect(api.requests.filter((r) => r.path.includes('slow-flow'))).toHaveLength(1);
    // The hung call times out (FLOW_TIMEOUT), the retry succeeds: one successful run.
    api.answer(200);
    await until(async () => (await states('slow')).succeeded === 1, 30_000, 'the retry', 250);
    expect([...runsOf('slow-flow').values()]).toEqual([1]);
  }, 60_000);

  it('database connections killed mid-load: no acknowledged delivery lost, 503 (never 500) while down, recovery without restart', async () => {
    await apiUp();
    api.answerAfter(20);
    let killing = true;
    const killer = (async () => {
      let kills = 0;
      while (killing) {
        await database.sql(
          `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
           WHERE datname = $1 AND application_name = 'flowhook'`,
          [database.name],
        );
        kills += 1;
        await new Promise((resolve) => setTimeout(resolve, 150));
      }
      return kills;
    })();
    const { acknowledged, statuses } = await burst('outage', 300);
    killing = false;
    const kills = await killer;
    // Every request was acknowledged or refused with 503 store_unavailable; none got a 500 or
    // a dropped connection.
    expect(statuses.filter((s) => s !== 202 && s !== 503)).toEqual([]);
    expect(acknowledged.length).toBeGreaterThan(0);
    // Every instance is ready again by itself. One that exited says why (an intermittent
    // failure seen once at stop 10: an instance refused connections after the kills).
    for (const instance of instances) {
      const { exitCode, signalCode } = instance.child;
      if (exitCode !== null || signalCode !== null) {
        throw new Error(
          `an instance exited (${exitCode ?? signalCode}) during the outage; its last output:\n${instance.output().slice(-4000)}`,
        );
      }
      await until(
        async () => (await fetch(`${instance.url}/readyz`)).status === 200,
        20_000,
        'ready again',
      );
    }
    // Every acknowledged delivery runs (those whose outcome write was cut run again once their
    // lease expires).
    await until(
      async () => {
        const s = await states('outage');
        return (s.queued ?? 0) + (s.running ?? 0) === 0;
      },
      90_000,
      'the outage deliveries to finish',
      250,
    );
    const runs = runsOf('outage-flow');
    expect(acknowledged.filter((n) => !runs.has(n))).toEqual([]);
    const twice = [...runs.values()].filter((c) => c > 1).length;
    console.log(
      `connections killed ${kills} times during 300 deliveries: ${acknowledged.length} acknowledged, ` +
        `${statuses.filter((s) => s === 503).length} refused 503, ${twice} ran twice`,
    );
  }, 180_000);

  it('kill -9 of one instance in the middle of 600 async deliveries: 0 acknowledged lost', async () => {
    await apiUp();
    api.answerAfter(40); // executions take a while, so some are in flight at the kill
    const victim = instances[2];
    const sending = burst('burst', 600);
    await until(() => runsOf('burst-flow').size >= 150, 60_000, '150 executions before the kill');
    await victim.kill();
    const killedAt = api.requests.filter((r) => r.path.includes('burst-flow')).length;
    const { acknowledged, statuses } = await sending;
    // Requests sent to the dead instance after the kill were refused (no connection): the sender
    // retries those; they were never acknowledged.
    expect(statuses.filter((s) => s !== 202 && s !== 0)).toEqual([]);
    // Stored may exceed acknowledged: a request the victim stored but could not answer.
    await until(
      async () => {
        const s = await states('burst');
        return (s.queued ?? 0) + (s.running ?? 0) === 0;
      },
      90_000,
      'every delivery to finish',
      250,
    );
    expect((await states('burst')).succeeded).toBeGreaterThanOrEqual(acknowledged.length);
    const runs = runsOf('burst-flow');
    expect(acknowledged.filter((n) => !runs.has(n))).toEqual([]);
    const twice = [...runs.entries()].filter(([, c]) => c > 1).map(([n]) => n);
    console.log(
      `kill -9: ${killedAt} calls before the kill, ${acknowledged.length} acknowledged, ` +
        `${twice.length} ran twice (calls in flight on the killed instance)`,
    );
    // Only calls that were in flight on the killed instance can run twice.
    expect(twice.length).toBeLessThanOrEqual(CONCURRENCY);
    instances = instances.slice(0, 2);
  }, 240_000);
});

describe('the password of DATABASE_URL (issue 11)', () => {
  it('is in no log line, no /readyz and no /api/sources of any instance', async () => {
    for (const instance of instances) {
      const ready = await (await fetch(`${instance.url}/readyz`)).text();
      const sources = await (
        await fetch(`${instance.url}/api/sources`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        })
      ).text();
      expect(ready).toContain('"engine":"postgres"');
      for (const text of [ready, sources, instance.output()]) {
        expect(text).not.toContain(DB_PASSWORD);
        expect(text).not.toContain(FLOW_TOKEN);
      }
    }
  });
});
