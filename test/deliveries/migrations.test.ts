import path from 'node:path';
import Database from 'better-sqlite3';
import { MIGRATIONS, migrate } from '../../src/deliveries/migrations';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { cleanup, newDelivery, tempDir } from './support';

const DAY = 86_400_000;
const LATEST = MIGRATIONS.length;

let dir: string;
let file: string;

beforeEach(() => {
  dir = tempDir();
  file = path.join(dir, 'flowhook.db');
});

afterEach(() => cleanup(dir));

function userVersion(): number {
  const db = new Database(file, { readonly: true });
  try {
    return db.pragma('user_version', { simple: true }) as number;
  } finally {
    db.close();
  }
}

describe('migrations', () => {
  it('are numbered 1, 2, … in order', () => {
    expect(MIGRATIONS.map((m) => m.version)).toEqual(MIGRATIONS.map((_, i) => i + 1));
  });

  it('a fresh file gets every migration', async () => {
    await openSqliteStore({ dataDir: dir }).close();
    expect(userVersion()).toBe(LATEST);
  });

  it('reopening does not migrate again, and keeps the data', async () => {
    const store = openSqliteStore({ dataDir: dir });
    const d = newDelivery();
    await store.create(d, DAY);
    await store.close();

    const db = new Database(file);
    expect(migrate(db)).toEqual({ from: LATEST, to: LATEST });
    db.close();

    const exec = jest.spyOn(Database.prototype, 'exec');
    const again = openSqliteStore({ dataDir: dir });
    expect(exec).not.toHaveBeenCalled();
    exec.mockRestore();
    expect((await again.get(d.id))?.id).toBe(d.id);
    expect((await again.counts()).queued).toBe(1);
    await again.close();
    expect(userVersion()).toBe(LATEST);
  });

  it(`a database at version ${LATEST - 1} is upgraded, its rows carried over`, async () => {
    // Build the previous schema by hand and write into it as that version's code would have.
    const db = new Database(file);
    expect(migrate(db, MIGRATIONS.slice(0, LATEST - 1))).toEqual({ from: 0, to: LATEST - 1 });
    db.close();
    const old = writeRowsAsVersion(LATEST - 1);
    expect(userVersion()).toBe(LATEST - 1);

    const store = openSqliteStore({ dataDir: dir });
    expect(userVersion()).toBe(LATEST);
    expect((await store.get(old.id))?.state).toBe('dead');
    // The counts of the rows that were already there are kept.
    expect(await store.counts()).toMatchObject({ queued: 1, dead: 1 });
    expect((await store.create(newDelivery(), DAY)).created).toBe(true);
    expect(await store.counts()).toMatchObject({ queued: 2, dead: 1 });
    await store.close();
  });

  it('7: repeats of a key stored by version 6 (a table of keys) are still found, from the index', async () => {
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 6));
    // As version 6 wrote a delivery with a key: the row, and the key in its own table.
    db.prepare(
      `INSERT INTO deliveries (id, source, idempotency_key, mode, state, received_at, updated_at,
         mapping_version, method, url, headers, body, body_bytes, body_truncated, routes)
       VALUES ('old-1', 'github', 'k1', 'sync', 'succeeded', 1000, 1000, 'v', 'POST', '/', '{}',
         x'', 0, 0, '[]')`,
    ).run();
    db.prepare(
      `INSERT INTO idempotency_keys (source, key, delivery_id, received_at)
       VALUES ('github', 'k1', 'old-1', 1000)`,
    ).run();
    db.close();

    const store = openSqliteStore({ dataDir: dir });
    const repeat = await store.create(
      newDelivery({ source: 'github', idempotencyKey: 'k1', receivedAt: 2000 }),
      DAY,
    );
    expect(!repeat.created && repeat.existing.id).toBe('old-1');
    const later = newDelivery({ source: 'github', idempotencyKey: 'k1', receivedAt: 1000 + DAY });
    expect((await store.create(later, DAY)).created).toBe(true);
    await store.close();

    const after = new Database(file, { readonly: true });
    try {
      const indexes = after
        .prepare(`SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'deliveries'`)
        .pluck()
        .all();
      expect(indexes).toContain('deliveries_key');
      expect(indexes).not.toContain('deliveries_idempotency_key');
      // The old table's name still answers, with its meaning: the latest delivery per key.
      expect(after.prepare('SELECT * FROM idempotency_keys').all()).toEqual([
        { source: 'github', key: 'k1', delivery_id: later.id, received_at: later.receivedAt },
      ]);
    } finally {
      after.close();
    }
  });

  it('8: the counts triggers are dropped and the counts made again from the rows; the store keeps them from then on', async () => {
    const db = new Database(file);
    migrate(db, MIGRATIONS.slice(0, 7));
    db.close();
    writeRowsAsVersion(7);
    // Counts that do not match the rows (as a file could hold after a bug): made again.
    const drifted = new Database(file);
    drifted.exec(`UPDATE delivery_counts SET n = 5 WHERE state = 'queued'`);
    drifted.close();

    const store = openSqliteStore({ dataDir: dir });
    expect(await store.counts()).toMatchObject({ queued: 1, dead: 1, running: 0 });
    const d = newDelivery();
    await store.create(d, DAY);
    await store.update(d.id, { state: 'failed' });
    await store.prune(Number.MAX_SAFE_INTEGER, 10);
    expect(await store.counts()).toMatchObject({ queued: 1, dead: 0, failed: 0 });
    await store.close();

    const check = new Database(file, { readonly: true });
    const triggers = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger'`);
    expect(triggers.pluck().all()).toEqual([]);
    check.close();
  });

  it("9: the deliveries still to run get the sender's traceparent as their trace context", async () => {
    const SENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const OWN = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const sent = (overrides: Parameters<typeof newDelivery>[0] = {}) =>
      newDelivery({
        ...overrides,
        request: { ...newDelivery().request, headers: { traceparent: SENT } },
      });
    // Stored as version 8 stored them with tracing off: the header, no trace context.
    let store = openSqliteStore({ dataDir: dir });
    const queued = sent();
    const running = sent({ state: 'running', lease: { owner: 'gone', until: 1 } });
    const done = sent({ state: 'succeeded' });
    const traced = sent({ traceContext: OWN });
    const none = newDelivery();
    for (const d of [queued, running, done, traced, none]) await store.create(d, DAY);
    await store.close();
    const db = new Database(file);
    db.pragma('user_version = 8');
    db.close();

    store = openSqliteStore({ dataDir: dir });
    expect(userVersion()).toBe(LATEST);
    const claimed = await store.claimDue(Number.MAX_SAFE_INTEGER, 10, 'w', 1000);
    const traceOf = (id: string) => claimed.find((d) => d.id === id)?.traceContext;
    expect(claimed.map((d) => d.id).sort()).toEqual(
      [queued.id, running.id, traced.id, none.id].sort(),
    );
    expect(traceOf(queued.id)).toBe(SENT);
    expect(traceOf(running.id)).toBe(SENT);
    expect(traceOf(traced.id)).toBe(OWN);
    expect(traceOf(none.id)).toBeUndefined();
    // A final delivery is left as it was: no worker runs it again.
    expect((await store.get(done.id))?.traceContext).toBeUndefined();
    await store.close();
  });

  it('a database newer than the code is refused with a clear error, and left alone', async () => {
    await openSqliteStore({ dataDir: dir }).close();
    const db = new Database(file);
    db.pragma(`user_version = ${LATEST + 1}`);
    db.close();
    expect(() => openSqliteStore({ dataDir: dir })).toThrow(
      `schema version ${LATEST + 1}, newer than this flowhook knows (${LATEST})`,
    );
    expect(userVersion()).toBe(LATEST + 1);
  });

  it('a failing migration rolls back whole, leaving the version as it was', () => {
    const db = new Database(file);
    const broken = [...MIGRATIONS, { version: LATEST + 1, name: 'broken', sql: 'CREATE TABLE' }];
    migrate(db, MIGRATIONS.slice(0, 1));
    expect(() => migrate(db, broken)).toThrow();
    expect(db.pragma('user_version', { simple: true })).toBe(1);
    const tables = db
      .prepare(`SELECT name FROM sqlite_schema WHERE name = 'delivery_counts'`)
      .pluck()
      .all();
    expect(tables).toEqual([]);
    db.close();
  });

  it('refuses a list with a gap', () => {
    const db = new Database(':memory:');
    expect(() => migrate(db, [MIGRATIONS[0], { ...MIGRATIONS[1], version: 3 }])).toThrow(
      'migration 2 has version 3',
    );
    db.close();
  });

  /** Rows written by version-(LATEST-1) code: plain inserts into its tables. */
  function writeRowsAsVersion(version: number) {
    const db = new Database(file);
    expect(db.pragma('user_version', { simple: true })).toBe(version);
    const insert = db.prepare(
      `INSERT INTO deliveries (id, source, idempotency_key, mode, state, received_at, updated_at,
         mapping_version, method, url, headers, body, body_bytes, body_truncated, routes)
       VALUES (?, 's', NULL, 'async', ?, 1, 1, 'v', 'POST', '/', '{}', ?, 0, 0, '[]')`,
    );
    insert.run('old-1', 'dead', Buffer.alloc(0));
    insert.run('old-2', 'queued', Buffer.alloc(0));
    // From version 8 the store counts what it writes (before, triggers did).
    if (version >= 8) {
      db.exec(`UPDATE delivery_counts SET n = n + 1 WHERE state IN ('dead', 'queued')`);
    }
    db.close();
    return { id: 'old-1' };
  }
});
