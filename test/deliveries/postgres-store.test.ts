import pg from 'pg';
import { ADVISORY_LOCK_SPACE, PRUNE_LOCK } from '../../src/deliveries/postgres/advisory-locks';
import { openPostgresStore } from '../../src/deliveries/postgres/open-postgres-store';
import { POSTGRES_MIGRATIONS } from '../../src/deliveries/postgres/postgres-migrations';
import { redactDatabaseUrl } from '../../src/deliveries/postgres/redact-database-url';
import { StoreUnavailableError } from '../../src/deliveries/store-unavailable-error';
import type { DeliveryStore } from '../../src/deliveries/types';
import { createTestDatabase, type TestDatabase } from '../support/postgres';
import { until } from '../support/until';
import { newDelivery } from './support';

// What only the PostgreSQL store does (issue 11): migrations shared by instances starting at
// once, refusing a newer schema, the connection string's password kept out of every message,
// connections lost and found again, wake-ups across instances, and pruning by one instance at a
// time. The behaviour both stores share is in store-contract.test.ts.
const DAY = 86_400_000;
const PASSWORD = 'pg-secret-do-not-leak';

let database: TestDatabase;
const open: DeliveryStore[] = [];

async function store(options: { poolSize?: number } = {}): Promise<DeliveryStore> {
  const opened = await openPostgresStore({ url: database.url, poolSize: options.poolSize ?? 4 });
  open.push(opened);
  return opened;
}

beforeEach(async () => {
  database = await createTestDatabase();
});

afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
  await database.drop();
});

describe('migrations', () => {
  it('several instances opening a fresh database at once migrate it once', async () => {
    const stores = await Promise.all(Array.from({ length: 5 }, () => store({ poolSize: 1 })));
    const applied = await database.sql<{ version: number }>(
      'SELECT version FROM flowhook_schema ORDER BY version',
    );
    expect(applied.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((m) => m.version));
    for (const s of stores) {
      expect(await s.status!()).toEqual({
        engine: 'postgres',
        location: redactDatabaseUrl(database.url),
        schemaVersion: POSTGRES_MIGRATIONS.length,
      });
    }
    // And every instance works on the one schema.
    const d = newDelivery();
    await stores[0].create(d, DAY);
    expect((await stores[4].get(d.id))?.id).toBe(d.id);
  });

  it("4: the deliveries still to run get the sender's traceparent as their trace context", async () => {
    const SENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const sent = (overrides: Parameters<typeof newDelivery>[0] = {}) =>
      newDelivery({
        ...overrides,
        request: { ...newDelivery().request, headers: { traceparent: SENT } },
      });
    const first = await store();
    const queued = sent();
    const done = sent({ state: 'succeeded' });
    const none = newDelivery();
    for (const d of [queued, done, none]) await first.create(d, DAY);
    await first.close();
    // As version 3 left them (tracing off: the header, no trace context).
    await database.sql('DELETE FROM flowhook_schema WHERE version = 4');

    const again = await store();
    expect((await again.status()).schemaVersion).toBe(POSTGRES_MIGRATIONS.length);
    const claimed = await again.claimDue(Number.MAX_SAFE_INTEGER, 10, 'w', 1000);
    expect(claimed.find((d) => d.id === queued.id)?.traceContext).toBe(SENT);
    expect(claimed.find((d) => d.id === none.id)?.traceContext).toBeUndefined();
    expect((await again.get(done.id))?.traceContext).toBeUndefined();
  });

  it('refuses a database with a newer schema than it knows, with one clear line', async () => {
    await (await store()).close();
    await database.sql(
      `INSERT INTO flowhook_schema (version, name) VALUES (99, 'from the future')`,
    );
    await expect(openPostgresStore({ url: database.url })).rejects.toThrow(
      `has schema version 99, newer than this flowhook knows (${POSTGRES_MIGRATIONS.length}); upgrade flowhook`,
    );
  });

  it('a migration that fails leaves the schema as it was (one transaction each)', async () => {
    await (await store()).close();
    const { migratePostgres } = await import('../../src/deliveries/postgres/migrate-postgres');
    const pool = new pg.Pool({ connectionString: database.url, max: 1 });
    try {
      const broken = [
        ...POSTGRES_MIGRATIONS,
        {
          version: POSTGRES_MIGRATIONS.length + 1,
          name: 'half done',
          sql: 'CREATE TABLE half_done (x int); SELECT no_such_function();',
        },
      ];
      await expect(migratePostgres(pool, 'test', broken)).rejects.toThrow(/no_such_function/);
      const tables = await database.sql(`SELECT 1 FROM pg_tables WHERE tablename = 'half_done'`);
      expect(tables).toEqual([]);
      const [{ version }] = await database.sql<{ version: number }>(
        'SELECT max(version) AS version FROM flowhook_schema',
      );
      expect(version).toBe(POSTGRES_MIGRATIONS.length);
    } finally {
      await pool.end();
    }
  });
});

describe('the password', () => {
  it('is in no error when the database cannot be reached or refuses the login', async () => {
    const unreachable = `postgres://flowhook:${PASSWORD}@127.0.0.1:1/flowhook`;
    const error = await openPostgresStore({ url: unreachable }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(
      JSON.stringify({ message: (error as Error).message, stack: (error as Error).stack }),
    ).not.toContain(PASSWORD);

    const wrongDatabase = new URL(database.url);
    wrongDatabase.password = PASSWORD;
    wrongDatabase.pathname = '/no_such_database_here';
    const refused = await openPostgresStore({ url: wrongDatabase.toString() }).catch(
      (e: unknown) => e as Error,
    );
    expect(refused).toBeInstanceOf(Error);
    expect(String((refused as Error).message)).not.toContain(PASSWORD);
    expect(String((refused as Error).stack)).not.toContain(PASSWORD);
  });

  it('is never in the redacted form used for logs and /readyz', () => {
    const url = `postgresql://app:${PASSWORD}@db.internal:6432/flowhook?sslmode=require&password=${PASSWORD}`;
    expect(redactDatabaseUrl(url)).toBe('postgresql://app@db.internal:6432/flowhook');
    expect(redactDatabaseUrl(`not a url ${PASSWORD}`)).not.toContain(PASSWORD);
  });
});

/** Once flowhook's statement waits on `holder`'s lock, kills flowhook's connections. */
async function killOnceWaiting(holder: pg.Client, what: string): Promise<void> {
  await until(
    async () =>
      (
        await holder.query(
          `SELECT 1 FROM pg_stat_activity WHERE application_name = 'flowhook'
           AND wait_event_type = 'Lock'`,
        )
      ).rowCount === 1,
    5000,
    `${what} to wait on the lock`,
  );
  await holder.query(
    `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
     WHERE datname = current_database() AND application_name = 'flowhook'`,
  );
}

describe('connections lost', () => {
  it('a killed connection fails its query as StoreUnavailableError, and the next one works', async () => {
    const s = await store({ poolSize: 2 });
    const d = newDelivery();
    await s.create(d, DAY);
    // Another session holds the row, so the update is running (waiting) when it is killed.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT 1 FROM deliveries WHERE id = $1 FOR UPDATE', [d.id]);
      const blocked = s.update(d.id, { state: 'failed' }).catch((e: unknown) => e);
      await killOnceWaiting(holder, 'the update');
      const failure = await blocked;
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      expect((failure as Error).message).toMatch(/unavailable/);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    // Nothing was written, and the store works again without being reopened.
    expect((await s.get(d.id))?.state).toBe('queued');
    expect((await s.update(d.id, { state: 'failed' })).applied).toBe(true);
    expect((await s.create(newDelivery(), DAY)).created).toBe(true);
  });

  it('a connection killed while pruning holds it fails the prune, not the process', async () => {
    const s = await store({ poolSize: 2 });
    await s.create(newDelivery({ state: 'succeeded', receivedAt: 1 }), DAY);
    // Another session locks the counts table, so the prune's transaction waits inside it.
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('LOCK TABLE delivery_count_deltas IN ACCESS EXCLUSIVE MODE');
      const pruning = s.prune(Date.now(), 100).catch((e: unknown) => e);
      await killOnceWaiting(holder, 'the prune');
      expect(await pruning).toBeInstanceOf(StoreUnavailableError);
      await holder.query('ROLLBACK');
    } finally {
      await holder.end();
    }
    // The process is alive, and the next prune removes the delivery.
    expect(await s.prune(Date.now(), 100)).toBe(1);
  });

  it('calls while the server refuses connections reject as StoreUnavailableError', async () => {
    const s = await store({ poolSize: 2 });
    // Stop new logins to this database, and end the ones open: every call now fails to connect.
    const admin = new pg.Client({
      connectionString: database.url.replace(/\/[^/]+$/, '/postgres'),
    });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS false`);
      await admin.query(
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1`,
        [database.name],
      );
      const failure = await s.create(newDelivery(), DAY).catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(StoreUnavailableError);
      await expect(s.counts()).rejects.toBeInstanceOf(StoreUnavailableError);
      await expect(s.claimDue(Date.now(), 5, 'w', 1000)).rejects.toBeInstanceOf(
        StoreUnavailableError,
      );
    } finally {
      await admin.query(`ALTER DATABASE ${database.name} WITH ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    // Back without a restart.
    await until(async () => (await s.counts().catch(() => null)) !== null, 10_000, 'recovery');
    expect((await s.create(newDelivery(), DAY)).created).toBe(true);
  });
});

describe('across instances', () => {
  it('a delivery queued on one instance wakes the workers of another (LISTEN/NOTIFY)', async () => {
    const [a, b] = await Promise.all([store(), store()]);
    let woken = 0;
    const unwatch = b.watchQueued!(() => (woken += 1));
    // The listener wakes once when it connects (it may have missed notifications before).
    await until(() => woken >= 1, 5000, 'the listener to connect');
    const before = woken;
    await a.create(newDelivery({ state: 'queued' }), DAY);
    await until(() => woken > before, 5000, 'the notification');
    // A delivery that is not due now (a final state) wakes nobody.
    const after = woken;
    await a.create(newDelivery({ state: 'succeeded' }), DAY);
    await a.create(newDelivery({ state: 'queued' }), DAY);
    await until(() => woken > after, 5000, 'the second notification');
    expect(woken).toBe(after + 1);
    unwatch();
  });

  it('two instances claiming at once never take the same delivery (SKIP LOCKED)', async () => {
    const [a, b] = await Promise.all([store(), store()]);
    const now = Date.now();
    const ids = new Set<string>();
    for (let i = 0; i < 200; i++) {
      const d = newDelivery({ receivedAt: now - 1000 + i });
      ids.add(d.id);
      await a.create(d, DAY);
    }
    const claimed: string[] = [];
    const claimAll = async (s: DeliveryStore, owner: string) => {
      for (;;) {
        const batch = await s.claimDue(now, 7, owner, 60_000);
        if (batch.length === 0) return;
        claimed.push(...batch.map((d) => d.id));
      }
    };
    await Promise.all([claimAll(a, 'a'), claimAll(b, 'b'), claimAll(a, 'a2'), claimAll(b, 'b2')]);
    expect(claimed).toHaveLength(200);
    expect(new Set(claimed)).toEqual(ids);
  });

  it('pruning runs on one instance at a time: while another holds the lock, prune skips', async () => {
    const s = await store();
    await s.create(newDelivery({ state: 'succeeded', receivedAt: 1 }), DAY);
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('BEGIN');
      await holder.query('SELECT pg_advisory_xact_lock($1, $2)', [ADVISORY_LOCK_SPACE, PRUNE_LOCK]);
      expect(await s.prune(Date.now(), 100)).toBe(0);
      await holder.query('COMMIT');
    } finally {
      await holder.end();
    }
    expect(await s.prune(Date.now(), 100)).toBe(1);
  });

  it('counts stay right through many instances writing, and pruning folds them', async () => {
    const stores = await Promise.all([store(), store(), store()]);
    await Promise.all(
      stores.flatMap((s, i) =>
        Array.from({ length: 30 }, (_, n) =>
          s.create(newDelivery({ state: n % 3 === 0 ? 'dead' : 'queued', receivedAt: i }), DAY),
        ),
      ),
    );
    expect(await stores[1].counts()).toMatchObject({ queued: 60, dead: 30 });
    expect(await stores[2].prune(Date.now(), 1000)).toBe(30);
    const [{ rows }] = await database.sql<{ rows: number }>(
      'SELECT count(*)::int AS rows FROM delivery_count_deltas',
    );
    expect(rows).toBeLessThanOrEqual(6);
    expect(await stores[0].counts()).toMatchObject({ queued: 60, dead: 0 });
  });
});

/** How many transactions last wrote these deliveries (rows written by one share its xmin). */
async function writers(ids: string[]): Promise<number> {
  const [{ n }] = await database.sql<{ n: number }>(
    `SELECT count(DISTINCT xmin::text)::int AS n FROM deliveries WHERE id = ANY($1)`,
    [ids],
  );
  return n;
}

describe('creates of one event-loop turn share one statement (group commit)', () => {
  it('50 creates made at once are all stored, with the answers a single create gives', async () => {
    const s = await store();
    const deliveries = Array.from({ length: 50 }, (_, i) =>
      newDelivery({ idempotencyKey: i % 2 === 0 ? `key-${i}` : null, receivedAt: 1000 + i }),
    );
    const results = await Promise.all(deliveries.map((d) => s.create(d, DAY)));
    results.forEach((result, i) => {
      expect(result).toMatchObject({ created: true, record: { id: deliveries[i].id } });
    });
    for (const d of deliveries) expect((await s.get(d.id))?.request).toEqual(d.request);
    expect((await s.counts()).running + (await s.counts()).queued).toBe(50);
  });

  it('a batch takes far fewer transactions than its creates', async () => {
    const s = await store();
    await s.create(newDelivery(), DAY); // connects the pool
    const deliveries = Array.from({ length: 40 }, () => newDelivery());
    await Promise.all(deliveries.map((d) => s.create(d, DAY)));
    expect(await writers(deliveries.map((d) => d.id))).toBeLessThan(5);
  });

  it('duplicates in one batch, and keys already stored, run once and get the first delivery', async () => {
    const s = await store();
    const stored = newDelivery({ idempotencyKey: 'evt-old' });
    await s.create(stored, DAY);
    const copies = Array.from({ length: 5 }, () => newDelivery({ idempotencyKey: 'evt-new' }));
    const again = newDelivery({ idempotencyKey: 'evt-old' });
    const fresh = newDelivery({ idempotencyKey: 'evt-fresh' });
    const results = await Promise.all([...copies, again, fresh].map((d) => s.create(d, DAY)));
    expect(results.filter((r) => r.created).map((r) => r.created && r.record.id)).toEqual([
      copies[0].id,
      fresh.id,
    ]);
    for (const r of results.slice(1, 5)) {
      expect(r).toMatchObject({ created: false, existing: { id: copies[0].id } });
    }
    expect(results[5]).toMatchObject({ created: false, existing: { id: stored.id } });
  });

  it('one delivery the database refuses fails alone; the others of its batch are stored', async () => {
    const s = await store();
    const good = Array.from({ length: 3 }, () => newDelivery());
    const bad = newDelivery({ mappingVersion: 'x\u0000y' }); // text cannot hold NUL
    const results = await Promise.allSettled([...good, bad].map((d) => s.create(d, DAY)));
    expect(results.slice(0, 3).map((r) => r.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    expect(results[3].status).toBe('rejected');
    for (const d of good) expect(await s.get(d.id)).toBeDefined();
    expect(await s.get(bad.id)).toBeUndefined();
  });
});

describe('writes of one event-loop turn share one statement per shape', () => {
  const attempt = (flowId: string) => ({
    startedAt: 1,
    durationMs: 2.5,
    route: 'r',
    flowId,
    outcome: 'succeeded' as const,
    httpStatus: 200,
    sessionId: 's',
  });
  const running = (owner: string) =>
    newDelivery({ state: 'running', lease: { owner, until: Date.now() + 60_000 } });

  it('30 outcomes written at once: each applied with its attempt, in few transactions', async () => {
    const s = await store();
    const deliveries = Array.from({ length: 30 }, (_, i) => running(`w${i}`));
    await Promise.all(deliveries.map((d) => s.create(d, DAY)));
    const results = await Promise.all(
      deliveries.map((d, i) =>
        s.update(
          d.id,
          { state: 'succeeded', answer: { status: 200, body: { n: i } }, lease: null },
          { owner: `w${i}`, attempts: [attempt(`flow-${i}`)] },
        ),
      ),
    );
    results.forEach((r, i) => {
      expect(r).toEqual({ applied: true, attempts: [{ ...attempt(`flow-${i}`), number: 1 }] });
    });
    expect(await writers(deliveries.map((d) => d.id))).toBeLessThan(5);
    for (const [i, d] of deliveries.entries()) {
      const stored = await s.get(d.id);
      expect(stored).toMatchObject({ state: 'succeeded', answer: { body: { n: i } }, lease: null });
      expect(stored?.attempts).toEqual([{ ...attempt(`flow-${i}`), number: 1 }]);
    }
  });

  it('in one batch, a lost lease keeps its patch out but its attempt in; a missing delivery fails alone', async () => {
    const s = await store();
    const mine = running('me');
    const taken = running('someone-else');
    await Promise.all([mine, taken].map((d) => s.create(d, DAY)));
    const results = await Promise.allSettled([
      s.update(mine.id, { state: 'failed' }, { owner: 'me', attempts: [attempt('a')] }),
      s.update(taken.id, { state: 'failed' }, { owner: 'me', attempts: [attempt('b')] }),
      s.update('no-such-delivery', { state: 'failed' }, { owner: 'me' }),
    ]);
    expect(results[0]).toMatchObject({ status: 'fulfilled', value: { applied: true } });
    expect(results[1]).toMatchObject({ status: 'fulfilled', value: { applied: false } });
    expect(results[2]).toMatchObject({ status: 'rejected' });
    expect((await s.get(taken.id))?.state).toBe('running');
    expect((await s.get(taken.id))?.attempts.map((a) => a.flowId)).toEqual(['b']);
  });

  it('two writes of one delivery in one turn apply in order, attempts numbered 1 and 2', async () => {
    const s = await store();
    const d = running('w');
    await s.create(d, DAY);
    const [first, second] = await Promise.all([
      s.update(d.id, { lastError: { code: 'x', message: 'first' } }, { attempts: [attempt('1')] }),
      s.update(d.id, { lastError: { code: 'y', message: 'second' } }, { attempts: [attempt('2')] }),
    ]);
    expect(first.attempts[0].number).toBe(1);
    expect(second.attempts[0].number).toBe(2);
    expect((await s.get(d.id))?.lastError).toEqual({ code: 'y', message: 'second' });
  });
});
