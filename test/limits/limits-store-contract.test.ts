import { openPostgresStore } from '../../src/deliveries/postgres/open-postgres-store';
import { sharedPoolOf } from '../../src/deliveries/postgres/shared-pool';
import { sharedConnectionOf } from '../../src/deliveries/shared-sqlite';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import type { DeliveryStore } from '../../src/deliveries/types';
import { openLimitsStore } from '../../src/limits/open-limits-store';
import { openPostgresLimitsStore } from '../../src/limits/postgres-limits-store';
import { openSqliteLimitsStore } from '../../src/limits/sqlite-limits-store';
import type { BudgetRequest, CircuitSettings, LimitsStore } from '../../src/limits/types';
import { cleanup, tempDir } from '../deliveries/support';
import { createTestDatabase, type TestDatabase } from '../support/postgres';

/**
 * The limits store contract (src/limits/types.ts), run against both implementations: the SQLite
 * store (a file in a temp folder per test; on a connection of its own, and on the delivery
 * store's as the server opens it) and the PostgreSQL store (on the delivery store's pool,
 * in a database of this file's own on 127.0.0.1:5432, emptied between tests, dropped after).
 * `another()` is a second process on the same data: a second connection to the file, or a second
 * pool (a second instance) on the database.
 */
interface LimitsStoreUnderTest {
  readonly name: string;
  setUp(): Promise<void>;
  tearDown(): Promise<void>;
  open(): Promise<LimitsStore>;
  another(): Promise<LimitsStore>;
  afterEach(): Promise<void>;
}

function sqlite(): LimitsStoreUnderTest {
  let dir = '';
  return {
    name: 'sqlite',
    setUp: async () => undefined,
    tearDown: async () => undefined,
    async open() {
      dir = tempDir();
      return openSqliteLimitsStore({ dataDir: dir });
    },
    another: async () => openSqliteLimitsStore({ dataDir: dir }),
    afterEach: async () => cleanup(dir),
  };
}

/**
 * As the server opens it: on the SQLite delivery store's connection (openLimitsStore), its
 * writes in the delivery store's group commit. `another()` is a second process: a second
 * delivery store, with its own connection, and the limits on it.
 */
function sqliteShared(): LimitsStoreUnderTest {
  let dir = '';
  const opened: DeliveryStore[] = [];
  const instance = () => {
    const deliveries = openSqliteStore({ dataDir: dir, sync: 'full' });
    opened.push(deliveries);
    expect(sharedConnectionOf(deliveries)).toBeDefined();
    return openLimitsStore({ dataDir: dir }, deliveries);
  };
  return {
    name: 'sqlite on the delivery store connection',
    setUp: async () => undefined,
    tearDown: async () => undefined,
    async open() {
      dir = tempDir();
      return instance();
    },
    another: async () => instance(),
    async afterEach() {
      await Promise.all(opened.splice(0).map((s) => s.close()));
      cleanup(dir);
    },
  };
}

function postgres(): LimitsStoreUnderTest {
  let database: TestDatabase;
  const opened: DeliveryStore[] = [];
  // A delivery store per instance: it migrates the database and owns the pool the limits share.
  const instance = async () => {
    const deliveries = await openPostgresStore({ url: database.url, poolSize: 4 });
    opened.push(deliveries);
    return openPostgresLimitsStore({ pool: sharedPoolOf(deliveries)! });
  };
  return {
    name: 'postgres',
    async setUp() {
      database = await createTestDatabase();
    },
    tearDown: () => database.drop(),
    async open() {
      const store = await instance();
      await database.sql('TRUNCATE flow_states, flow_slots, org_states, pauses');
      return store;
    },
    another: instance,
    async afterEach() {
      await Promise.all(opened.splice(0).map((s) => s.close()));
    },
  };
}

const CIRCUIT: CircuitSettings = {
  failureRatio: 0.5,
  windowMs: 10_000,
  minCalls: 4,
  coolDownMs: 1000,
};
const T0 = 1_700_000_000_000;

function ask(id: string, overrides: Partial<BudgetRequest> = {}): BudgetRequest {
  return {
    deliveryId: id,
    source: 'src',
    flows: [{ key: 'o/f', org: 'o', limits: {} }],
    platform: {},
    owner: 'p1#1',
    until: T0 + 30_000,
    now: T0,
    ...overrides,
  };
}

const limited = (limits: BudgetRequest['flows'][number]['limits']) => ({
  flows: [{ key: 'o/f', org: 'o', limits }],
});

describe.each([sqlite(), sqliteShared(), postgres()])('$name limits store', (kind) => {
  let store: LimitsStore;
  beforeAll(() => kind.setUp());
  afterAll(() => kind.tearDown());
  beforeEach(async () => {
    store = await kind.open();
  });
  afterEach(async () => {
    await store.close();
    await kind.afterEach();
  });

  it('concurrency: a slot per delivery up to the limit; released or expired slots free it', async () => {
    const two = limited({ concurrency: 2 });
    expect(await store.acquire(ask('d1', two))).toMatchObject({ granted: true });
    expect(await store.acquire(ask('d2', two))).toMatchObject({ granted: true });
    const third = await store.acquire(ask('d3', two));
    expect(third).toMatchObject({ granted: false, reason: 'concurrency', on: 'o/f' });
    // The one waiting is told a time, not the same time as the next one.
    const fourth = await store.acquire(ask('d4', two));
    expect(
      fourth.granted === false && third.granted === false && fourth.retryAt > third.retryAt,
    ).toBe(true);
    await store.release('d1', 'p1#1', T0 + 10);
    expect(await store.acquire(ask('d3', { ...two, now: T0 + 20 }))).toMatchObject({
      granted: true,
    });
    // A holder that died: its slot ends with its lease.
    expect(await store.acquire(ask('d5', { ...two, now: T0 + 20 }))).toMatchObject({
      granted: false,
    });
    expect(
      await store.acquire(ask('d5', { ...two, now: T0 + 30_000, until: T0 + 60_000 })),
    ).toMatchObject({ granted: true });
  });

  it('release only frees the slots of the holder that took them', async () => {
    const one = limited({ concurrency: 1 });
    await store.acquire(ask('d1', one));
    await store.release('d1', 'someone-else#9', T0 + 1);
    expect(await store.acquire(ask('d2', { ...one, now: T0 + 2 }))).toMatchObject({
      granted: false,
    });
  });

  it('rate: a token bucket with a burst of the count, refilled over time', async () => {
    const rate = limited({ rate: { count: 2, perMs: 1000 } });
    expect(await store.acquire(ask('d1', rate))).toMatchObject({ granted: true });
    expect(await store.acquire(ask('d2', rate))).toMatchObject({ granted: true });
    const denied = await store.acquire(ask('d3', rate));
    expect(denied).toMatchObject({ granted: false, reason: 'rate', retryAt: T0 + 500 });
    expect(await store.acquire(ask('d3', { ...rate, now: T0 + 500 }))).toMatchObject({
      granted: true,
    });
  });

  it('the platform budget (FLOW_MAX_CONCURRENCY) counts every flow', async () => {
    const platform = { concurrency: 1 };
    expect(await store.acquire(ask('d1', { platform }))).toMatchObject({ granted: true });
    expect(
      await store.acquire(
        ask('d2', { platform, flows: [{ key: 'o/other', org: 'o', limits: {} }] }),
      ),
    ).toMatchObject({ granted: false, reason: 'concurrency', on: '*' });
  });

  it('a 429 blocks its flow for Retry-After; 429s from two flows of one org block the org', async () => {
    const first = await store.record(
      { key: 'o/f', org: 'o', kind: 'throttled', retryAfterMs: 2000, at: T0 },
      CIRCUIT,
    );
    expect(first).toEqual({ throttle: { flow: 'o/f', until: T0 + 2000 } });
    expect(await store.acquire(ask('d1', { now: T0 + 1999 }))).toMatchObject({
      granted: false,
      reason: 'throttled',
      retryAt: T0 + 2000,
    });
    expect(await store.acquire(ask('d1', { now: T0 + 2000 }))).toMatchObject({ granted: true });
    const other = { flows: [{ key: 'o/g', org: 'o', limits: {} }] };
    expect(await store.acquire(ask('d2', { ...other, now: T0 + 100 }))).toMatchObject({
      granted: true,
    });
    const second = await store.record(
      { key: 'o/g', org: 'o', kind: 'throttled', retryAfterMs: 3000, at: T0 + 100 },
      CIRCUIT,
    );
    expect(second.throttle).toEqual({ flow: 'o/g', org: 'o', until: T0 + 3100 });
    const third = { flows: [{ key: 'o/h', org: 'o', limits: {} }] };
    expect(await store.acquire(ask('d3', { ...third, now: T0 + 200 }))).toMatchObject({
      granted: false,
      reason: 'org_throttled',
      retryAt: T0 + 3100,
    });
  });

  it('a 429 without Retry-After backs off 1 s, 2 s, 4 s …; a success resets it', async () => {
    const throttled = (at: number) =>
      store.record({ key: 'o/f', org: 'o', kind: 'throttled', at }, CIRCUIT);
    expect((await throttled(T0)).throttle?.until).toBe(T0 + 1000);
    expect((await throttled(T0 + 1000)).throttle?.until).toBe(T0 + 3000);
    expect((await throttled(T0 + 3000)).throttle?.until).toBe(T0 + 7000);
    await store.record({ key: 'o/f', org: 'o', kind: 'succeeded', at: T0 + 7000 }, CIRCUIT);
    expect((await throttled(T0 + 8000)).throttle?.until).toBe(T0 + 9000);
  });

  it('circuit: opens at the share of failures, one probe after the cool-down, closes on success', async () => {
    const call = (kind: 'succeeded' | 'failed', at: number) =>
      store.record({ key: 'o/f', org: 'o', kind, at }, CIRCUIT);
    expect(await call('succeeded', T0)).toEqual({});
    expect(await call('failed', T0 + 1)).toEqual({});
    expect(await call('succeeded', T0 + 2)).toEqual({});
    // 2 of 4 failed: 50 %, the minimum count reached.
    expect(await call('failed', T0 + 3)).toEqual({
      circuit: { flow: 'o/f', from: 'closed', to: 'open', calls: 4, failures: 2 },
    });
    expect(await store.acquire(ask('d1', { now: T0 + 500 }))).toMatchObject({
      granted: false,
      reason: 'circuit_open',
      retryAt: T0 + 1003,
    });
    expect(await store.acquire(ask('d1', { now: T0 + 1003 }))).toEqual({
      granted: true,
      probes: ['o/f'],
    });
    // Only one probe at a time.
    expect(await store.acquire(ask('d2', { now: T0 + 1004 }))).toMatchObject({
      granted: false,
      reason: 'circuit_open',
    });
    expect(await call('failed', T0 + 1100)).toEqual({
      circuit: { flow: 'o/f', from: 'half-open', to: 'open' },
    });
    expect(await store.acquire(ask('d2', { now: T0 + 2100 }))).toMatchObject({
      granted: true,
      probes: ['o/f'],
    });
    expect(await call('succeeded', T0 + 2200)).toEqual({
      circuit: { flow: 'o/f', from: 'half-open', to: 'closed' },
    });
    expect(await store.acquire(ask('d3', { now: T0 + 2201 }))).toEqual({
      granted: true,
      probes: [],
    });
  });

  it('a window older than CIRCUIT_WINDOW starts over', async () => {
    const call = (kind: 'succeeded' | 'failed', at: number) =>
      store.record({ key: 'o/f', org: 'o', kind, at }, CIRCUIT);
    for (let i = 0; i < 3; i++) await call('failed', T0 + i);
    expect(await call('failed', T0 + 10_000)).toEqual({}); // a new window: 1 of 1, under the minimum
  });

  it('pauses: per source and per flow, kept in the database (another instance sees them)', async () => {
    expect(await store.pause('source', 'src', T0)).toBe(true);
    expect(await store.pause('source', 'src', T0)).toBe(false);
    expect(await store.acquire(ask('d1'))).toMatchObject({
      granted: false,
      reason: 'source_paused',
      on: 'src',
    });
    const other = await kind.another();
    try {
      expect(await other.pauses()).toEqual([{ kind: 'source', name: 'src', pausedAt: T0 }]);
      expect(await other.resume('source', 'src')).toBe(true);
      await other.pause('flow', 'o/f', T0);
    } finally {
      await other.close();
    }
    expect(await store.acquire(ask('d1'))).toMatchObject({ reason: 'flow_paused', on: 'o/f' });
    await store.resume('flow', 'o/f');
    expect(await store.acquire(ask('d1'))).toMatchObject({ granted: true });
  });

  it('a pause written by another instance holds for a flow without limits at the next acquire', async () => {
    // Granted first, so a reading kept from before would show.
    expect(await store.acquire(ask('d1'))).toEqual({ granted: true, probes: [] });
    const other = await kind.another();
    try {
      await other.pause('flow', 'o/f', T0);
      expect(await store.acquire(ask('d2'))).toMatchObject({
        granted: false,
        reason: 'flow_paused',
        on: 'o/f',
      });
      await other.resume('flow', 'o/f');
      await other.pause('source', 'src', T0);
      // Several acquires of one turn: every one sees the pause.
      const turn = await Promise.all(['d3', 'd4', 'd5'].map((id) => store.acquire(ask(id))));
      expect(turn.map((d) => (d.granted ? 'granted' : d.reason))).toEqual([
        'source_paused',
        'source_paused',
        'source_paused',
      ]);
      await other.resume('source', 'src');
      expect(await store.acquire(ask('d6'))).toEqual({ granted: true, probes: [] });
    } finally {
      await other.close();
    }
  });

  it('outcomes of one turn count as one at a time would: the circuit of a flow without limits opens once', async () => {
    expect(await store.acquire(ask('d1'))).toEqual({ granted: true, probes: [] });
    const kinds = ['succeeded', 'failed', 'succeeded', 'failed', 'failed'] as const;
    const answers = await Promise.all(
      kinds.map((kind, i) => store.record({ key: 'o/f', org: 'o', kind, at: T0 + i }, CIRCUIT)),
    );
    // The 4th call (2 of 4 failed) opens it; the 5th ended after it opened and changes nothing.
    expect(answers).toEqual([
      {},
      {},
      {},
      { circuit: { flow: 'o/f', from: 'closed', to: 'open', calls: 4, failures: 2 } },
      {},
    ]);
    const other = await kind.another();
    try {
      expect(await other.acquire(ask('d2', { now: T0 + 10 }))).toMatchObject({
        granted: false,
        reason: 'circuit_open',
        retryAt: T0 + 3 + CIRCUIT.coolDownMs,
      });
      expect((await other.flows(T0 + 10)).find((f) => f.flow === 'o/f')).toMatchObject({
        circuit: 'open',
        windowCalls: 4,
        windowFailures: 2,
      });
    } finally {
      await other.close();
    }
    // A call that started before it opened and answers now: still open.
    expect(
      await store.record({ key: 'o/f', org: 'o', kind: 'succeeded', at: T0 + 20 }, CIRCUIT),
    ).toEqual({});
    expect(await store.acquire(ask('d3', { now: T0 + 30 }))).toMatchObject({
      reason: 'circuit_open',
    });
  });

  it('429s of one turn from two flows of an org block the org', async () => {
    const [first, second] = await Promise.all([
      store.record(
        { key: 'o/f', org: 'o', kind: 'throttled', retryAfterMs: 2000, at: T0 },
        CIRCUIT,
      ),
      store.record(
        { key: 'o/g', org: 'o', kind: 'throttled', retryAfterMs: 3000, at: T0 + 1 },
        CIRCUIT,
      ),
    ]);
    expect(first).toEqual({ throttle: { flow: 'o/f', until: T0 + 2000 } });
    expect(second).toEqual({ throttle: { flow: 'o/g', org: 'o', until: T0 + 3001 } });
    const third = { flows: [{ key: 'o/h', org: 'o', limits: {} }] };
    expect(await store.acquire(ask('d1', { ...third, now: T0 + 2 }))).toMatchObject({
      granted: false,
      reason: 'org_throttled',
      retryAt: T0 + 3001,
    });
  });

  it('running counts the flows with a concurrency limit only', async () => {
    const flows = [
      { key: 'o/free', org: 'o', limits: {} },
      { key: 'o/rated', org: 'o', limits: { rate: { count: 10, perMs: 1000 } } },
      { key: 'o/one', org: 'o', limits: { concurrency: 1 } },
    ];
    expect(await store.acquire(ask('d1', { flows: [flows[0]] }))).toMatchObject({ granted: true });
    expect(await store.acquire(ask('d2', { flows }))).toMatchObject({ granted: true });
    const running = Object.fromEntries(
      (await store.flows(T0)).map((f) => [f.flow, f.running] as const),
    );
    expect(running).toEqual({ 'o/rated': 0, 'o/one': 1 });
    await store.release('d1', 'p1#1', T0 + 1);
    await store.release('d2', 'p1#1', T0 + 1);
    expect((await store.flows(T0 + 2)).map((f) => f.running)).toEqual([0, 0]);
    expect(await store.acquire(ask('d3', { flows: [flows[2]], now: T0 + 2 }))).toMatchObject({
      granted: true,
    });
  });

  it('once closed, every call is refused (none is left waiting)', async () => {
    await store.close();
    const outcome = { key: 'o/f', org: 'o', kind: 'succeeded', at: T0 } as const;
    await expect(store.acquire(ask('d1'))).rejects.toThrow('closed');
    await expect(store.record(outcome, CIRCUIT)).rejects.toThrow('closed');
    await expect(
      Promise.all([store.record(outcome, CIRCUIT), store.record(outcome, CIRCUIT)]),
    ).rejects.toThrow('closed');
    await expect(store.release('d1', 'p1#1', T0)).rejects.toThrow('closed');
    store = await kind.another(); // for afterEach's close
  });

  it('two instances share one budget', async () => {
    const other = await kind.another();
    try {
      const one = limited({ concurrency: 1 });
      expect(await store.acquire(ask('d1', one))).toMatchObject({ granted: true });
      expect(await other.acquire(ask('d2', { ...one, owner: 'p2#1' }))).toMatchObject({
        granted: false,
      });
      expect((await other.flows(T0)).find((f) => f.flow === 'o/f')).toMatchObject({ running: 1 });
    } finally {
      await other.close();
    }
  });

  it('renew keeps the slots past the lease they were taken with', async () => {
    const one = limited({ concurrency: 1 });
    await store.acquire(ask('d1', { ...one, until: T0 + 1000 }));
    await store.renew('d1', 'p1#1', T0 + 5000);
    await store.renew('d1', 'someone-else#9', T0 + 1500); // not the holder: no effect
    expect(await store.acquire(ask('d2', { ...one, now: T0 + 2000 }))).toMatchObject({
      granted: false,
      reason: 'concurrency',
    });
    expect(await store.acquire(ask('d2', { ...one, now: T0 + 5000 }))).toMatchObject({
      granted: true,
    });
  });

  it("flows(): each flow's circuit, 429 block, window and running slots", async () => {
    await store.acquire(ask('d1', limited({ concurrency: 2 })));
    await store.record({ key: 'o/f', org: 'o', kind: 'failed', at: T0 + 1 }, CIRCUIT);
    await store.record(
      { key: 'o/g', org: 'o', kind: 'throttled', retryAfterMs: 5000, at: T0 + 2 },
      CIRCUIT,
    );
    expect(await store.flows(T0 + 3)).toEqual([
      expect.objectContaining({
        flow: 'o/f',
        circuit: 'closed',
        running: 1,
        windowCalls: 1,
        windowFailures: 1,
        blockedUntil: null,
      }),
      expect.objectContaining({ flow: 'o/g', running: 0, blockedUntil: T0 + 5002 }),
    ]);
  });

  it('acquires racing from two instances never take more than the limit (issue 14)', async () => {
    const other = await kind.another();
    try {
      const three = limited({ concurrency: 3 });
      const race = (round: number, now: number) =>
        Promise.all(
          Array.from({ length: 30 }, (_, i) =>
            (i % 2 === 0 ? store : other).acquire(
              ask(`r${round}-${i}`, { ...three, owner: `p${i % 2}#${i}`, now }),
            ),
          ),
        );
      const first = await race(1, T0);
      const granted = first.flatMap((d, i) => (d.granted ? [i] : []));
      expect(granted).toHaveLength(3);
      expect((await other.flows(T0)).find((f) => f.flow === 'o/f')).toMatchObject({ running: 3 });
      // Released on either instance, the room is there for the next race, and no more.
      await Promise.all(
        granted.map((i) => (i % 2 === 0 ? other : store).release(`r1-${i}`, `p${i % 2}#${i}`, T0)),
      );
      expect((await race(2, T0 + 1)).filter((d) => d.granted)).toHaveLength(3);
    } finally {
      await other.close();
    }
  });

  it('a token bucket shared by two instances hands out its burst once', async () => {
    const other = await kind.another();
    try {
      const rate = limited({ rate: { count: 5, perMs: 1000 } });
      const decisions = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          (i % 2 === 0 ? store : other).acquire(ask(`d${i}`, { ...rate, owner: `p#${i}` })),
        ),
      );
      expect(decisions.filter((d) => d.granted)).toHaveLength(5);
      // The ones sent back were given distinct times, a token's worth apart or more.
      const times = decisions.flatMap((d) => (d.granted ? [] : [d.retryAt])).sort((a, b) => a - b);
      expect(new Set(times).size).toBe(15);
      expect(times[0]).toBeGreaterThanOrEqual(T0 + 200);
    } finally {
      await other.close();
    }
  });

  it('an open circuit holds on every instance, and lets one probe through in all', async () => {
    const other = await kind.another();
    try {
      for (let i = 0; i < 4; i++)
        await store.record({ key: 'o/f', org: 'o', kind: 'failed', at: T0 + i }, CIRCUIT);
      expect(await other.acquire(ask('d1', { now: T0 + 10 }))).toMatchObject({
        granted: false,
        reason: 'circuit_open',
      });
      const after = T0 + 3 + CIRCUIT.coolDownMs;
      const decisions = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          (i % 2 === 0 ? store : other).acquire(ask(`p${i}`, { now: after, owner: `p#${i}` })),
        ),
      );
      expect(decisions.filter((d) => d.granted)).toEqual([{ granted: true, probes: ['o/f'] }]);
      expect((await store.flows(after)).find((f) => f.flow === 'o/f')).toMatchObject({
        circuit: 'half-open',
      });
    } finally {
      await other.close();
    }
  });
});
