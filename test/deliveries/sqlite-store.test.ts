import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { listSql } from '../../src/deliveries/sqlite-list-query';
import { LATEST_WITH_KEY, openSqliteStore } from '../../src/deliveries/sqlite-store';
import { WAL_CHECKPOINT_PAGES } from '../../src/deliveries/shared-sqlite';
import {
  DELIVERY_STATES,
  type Attempt,
  type DeliveryState,
  type DeliveryStore,
} from '../../src/deliveries/types';
import { attempt, cleanup, created, mustGet, newDelivery, tempDir } from './support';

// What only the SQLite store does: its file and pragmas, group commit through the WAL, close
// draining queued writes. Every behaviour of the contract is in store-contract.test.ts.
const DAY = 86_400_000;

let dir: string;
let store: DeliveryStore;
let clock: number;

beforeEach(() => {
  dir = tempDir();
  clock = 1_800_000_000_000;
  store = openSqliteStore({ dataDir: dir, now: () => clock });
});

afterEach(async () => {
  await store.close();
  cleanup(dir);
});

/**
 * How many commits the store's WAL file holds: a frame whose "database size after commit" field
 * is not zero ends a commit. Only frames carrying the header's salts are current (a checkpoint
 * restarts the WAL with new salts; the group-commit tests stay far below the auto-checkpoint).
 */
function walCommits(file = path.join(dir, 'flowhook.db')): number {
  const wal = fs.readFileSync(`${file}-wal`);
  if (wal.length < 32) return 0;
  const pageSize = wal.readUInt32BE(8);
  const salts = [wal.readUInt32BE(16), wal.readUInt32BE(20)];
  let commits = 0;
  for (let at = 32; at + 24 + pageSize <= wal.length; at += 24 + pageSize) {
    if (wal.readUInt32BE(at + 8) !== salts[0] || wal.readUInt32BE(at + 12) !== salts[1]) break;
    if (wal.readUInt32BE(at + 4) !== 0) commits += 1;
  }
  return commits;
}

describe('open', () => {
  it('creates DATA_DIR and flowhook.db in it, WAL, synchronous NORMAL (the WAL fsynced by the group commit), foreign keys on, temp files in memory', async () => {
    const nested = path.join(dir, 'a', 'b');
    const pragma = jest.spyOn(Database.prototype, 'pragma');
    let other: DeliveryStore;
    try {
      other = openSqliteStore({ dataDir: nested });
      expect(pragma.mock.calls.map((call) => call[0])).toEqual(
        expect.arrayContaining([
          'busy_timeout = 5000',
          'journal_mode = WAL',
          'synchronous = NORMAL',
          'foreign_keys = ON',
          'temp_store = MEMORY',
        ]),
      );
    } finally {
      pragma.mockRestore();
    }
    await other.close();
    expect(fs.existsSync(path.join(nested, 'flowhook.db'))).toBe(true);
    expect(fs.statSync(nested).mode & 0o777).toBe(0o700);

    const db = new Database(path.join(nested, 'flowhook.db'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });

  // issue 15: STORE_SYNC=full fsyncs the WAL through a descriptor of the store's own; normal
  // leaves it to SQLite (no fsync per commit).
  it('opens the WAL a second time to fsync it, unless sync is normal', async () => {
    const walOpen = (file: string) =>
      fs.readdirSync('/proc/self/fd').filter((fd) => {
        try {
          return fs.readlinkSync(`/proc/self/fd/${fd}`) === `${file}-wal`;
        } catch {
          return false;
        }
      }).length;
    const full = path.join(dir, 'flowhook.db');
    expect(walOpen(full)).toBe(2);
    const normal = openSqliteStore({ dataDir: dir, file: 'normal.db', sync: 'normal' });
    expect(walOpen(path.join(dir, 'normal.db'))).toBe(1);
    await normal.close();
  });

  it('honours `file`, and sets its pragmas on its own connection', async () => {
    const other = openSqliteStore({ dataDir: dir, file: 'other.db' });
    const d = newDelivery();
    await other.create(d, DAY);
    await other.close();
    expect(fs.existsSync(path.join(dir, 'other.db'))).toBe(true);
    expect(await store.get(d.id)).toBeUndefined();
  });

  it(`checkpoints the WAL at ${WAL_CHECKPOINT_PAGES} pages, not at SQLite's 1000 (each checkpoint stalls the event loop)`, async () => {
    // ~20 pages per delivery (a 40 KB body), one commit each: ~12,000 pages through the WAL.
    const body = Buffer.alloc(40_000, 'x');
    const wal = path.join(dir, 'flowhook.db-wal');
    let largest = 0;
    for (let i = 0; i < 600; i += 1) {
      await store.create(
        newDelivery({
          request: {
            method: 'POST',
            url: '/hooks/github',
            headers: {},
            bodyBase64: body.toString('base64'),
            bodyBytes: body.length,
            bodyTruncated: false,
          },
        }),
        DAY,
      );
      largest = Math.max(largest, walFrames(wal));
    }
    // It grew well past SQLite's default before its first checkpoint…
    expect(largest).toBeGreaterThan(2 * 1000);
    // …and no further than one commit past the mark: it was checkpointed, and written again from
    // its start (a checkpoint does not truncate the file; journal_size_limit only caps it).
    expect(largest).toBeLessThan(WAL_CHECKPOINT_PAGES + 50);
    expect(walCommits()).toBeLessThan(600);
  });
});

/** Frames the WAL file has room for (it is reused in place after a checkpoint, not shrunk). */
function walFrames(wal: string): number {
  const size = fs.statSync(wal).size;
  return size < 32 ? 0 : Math.floor((size - 32) / (24 + 4096));
}

describe('group commit', () => {
  it('counts commits through the WAL: each awaited write is one (the yardstick)', async () => {
    const before = walCommits();
    await store.create(newDelivery(), DAY);
    await store.create(newDelivery(), DAY);
    const d = await created(store.create(newDelivery(), DAY));
    await store.update(d.id, { state: 'failed' });
    expect(walCommits() - before).toBe(4);
    // A group whose only write failed changed nothing, and so wrote no commit.
    await expect(store.update('nope', {})).rejects.toThrow(/not found/);
    expect(walCommits() - before).toBe(4);
  });

  it('writes issued in one turn all land, in order, in one commit', async () => {
    const a = await created(store.create(newDelivery(), DAY));
    const b = await created(store.create(newDelivery({ state: 'dead' }), DAY));
    const c = newDelivery();
    const before = walCommits();
    clock += 1000;
    const [made, updated, claimed, renewed, later, due] = await Promise.all([
      store.create(c, DAY),
      store.update(a.id, { state: 'failed' }, { attempts: [attempt()] }),
      store.claim(b.id, { owner: 'w', until: clock + 10, fromState: 'dead' }),
      // Each write sees the ones issued before it: the claim, the create.
      store.renewLease(b.id, 'w', clock + 20),
      store.update(c.id, { nextAttemptAt: 42 }),
      store.claimDue(41, 10, 'worker', 1000),
    ]);
    expect(walCommits() - before).toBe(1);

    expect(made.created).toBe(true);
    expect(updated).toEqual({ applied: true, attempts: [expect.objectContaining({ number: 1 })] });
    expect(claimed).toBe('claimed');
    expect(renewed).toBe(true);
    expect(later.applied).toBe(true);
    // c was not due at 41 (next attempt at 42); b is running under a live lease: neither is taken.
    expect(due).toEqual([]);

    expect(await mustGet(store, a.id)).toMatchObject({
      state: 'failed',
      attempts: [{ number: 1 }],
    });
    expect(await mustGet(store, b.id)).toMatchObject({
      state: 'running',
      lease: { owner: 'w', until: clock + 20 },
    });
    expect(await mustGet(store, c.id)).toMatchObject({ state: 'queued', nextAttemptAt: 42 });
  });

  it('commits at most 256 writes together', async () => {
    const before = walCommits();
    const results = await Promise.all(
      Array.from({ length: 300 }, () => store.create(newDelivery(), DAY)),
    );
    expect(results.every((r) => r.created)).toBe(true);
    expect(walCommits() - before).toBe(2);
    expect((await store.counts()).queued).toBe(300);
  });

  it('a write that throws rolls back alone and rejects only its own promise', async () => {
    const a = await created(store.create(newDelivery(), DAY));
    const fresh = newDelivery();
    const before = walCommits();
    const results = await Promise.allSettled([
      store.update(a.id, { state: 'succeeded' }),
      store.create({ ...newDelivery(), id: a.id }, DAY),
      store.create(fresh, DAY),
      store.update('nope', { state: 'dead' }),
      // Sets the state and appends one attempt before the second attempt breaks a CHECK
      // constraint: its savepoint takes back all of it.
      store.update(
        fresh.id,
        { state: 'dead' },
        { attempts: [attempt(), attempt({ outcome: 'bogus' as Attempt['outcome'] })] },
      ),
      store.create(newDelivery({ request: { ...fresh.request, bodyBase64: '%%' } }), DAY),
      store.update(fresh.id, {}, { attempts: [attempt()] }),
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    const reasons = results.map((r) => (r.status === 'rejected' ? String(r.reason) : null));
    expect(reasons[1]).toMatch(/UNIQUE constraint/);
    expect(reasons[3]).toMatch(/delivery nope not found/);
    expect(reasons[4]).toMatch(/CHECK constraint/);
    expect(reasons[5]).toMatch(/not canonical base64/);
    expect(walCommits() - before).toBe(1);

    expect(await mustGet(store, a.id)).toMatchObject({
      state: 'succeeded',
      receivedAt: a.receivedAt,
    });
    const stored = await mustGet(store, fresh.id);
    expect(stored.state).toBe('queued');
    // Numbered 1: the rolled-back write's attempt is gone.
    expect(stored.attempts.map((x) => x.number)).toEqual([1]);
    expect(results[6]).toEqual({
      status: 'fulfilled',
      value: { applied: true, attempts: [expect.objectContaining({ number: 1 })] },
    });
    expect(await store.counts()).toMatchObject({ queued: 1, succeeded: 1, dead: 0 });
  });

  it('a write that makes SQLite roll back the whole group (disk full) fails alone; the others go again', async () => {
    // The store's own connection, caught as it opens, so its file can be capped.
    const pragma = jest.spyOn(Database.prototype, 'pragma');
    const capped = openSqliteStore({ dataDir: dir, file: 'capped.db', now: () => clock });
    const connection = pragma.mock.contexts[0] as Database.Database;
    pragma.mockRestore();
    try {
      const existing = await created(capped.create(newDelivery(), DAY));
      const pages = connection.pragma('page_count', { simple: true }) as number;
      connection.pragma(`max_page_count = ${pages + 2}`);
      const small = [newDelivery(), newDelivery()];
      const results = await Promise.allSettled([
        capped.create(small[0], DAY),
        // Too big for the cap: SQLITE_FULL, which rolls back the transaction, not the savepoint.
        capped.update(existing.id, { answer: { status: 200, body: 'x'.repeat(300_000) } }),
        capped.create(small[1], DAY),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/full/i);
      // Both small creates are stored, and the failed update changed nothing.
      for (const d of small) expect((await capped.get(d.id))?.id).toBe(d.id);
      expect((await capped.get(existing.id))?.answer).toBeNull();
      expect(await capped.counts()).toMatchObject({ queued: 3 });
    } finally {
      await capped.close();
    }
  });

  it('reads run at once: a write not yet committed is not seen', async () => {
    const d = newDelivery();
    const pending = store.create(d, DAY);
    expect(await store.get(d.id)).toBeUndefined();
    expect((await store.counts()).queued).toBe(0);
    await pending;
    expect((await mustGet(store, d.id)).id).toBe(d.id);
  });
});

describe('close', () => {
  it('commits the writes still queued, then closes', async () => {
    const d = newDelivery();
    const pending = store.create(d, DAY);
    const many = Array.from({ length: 300 }, () => store.create(newDelivery(), DAY));
    const update = store.update(d.id, { state: 'failed' }, { attempts: [attempt()] });
    await store.close();
    await expect(pending).resolves.toMatchObject({ created: true });
    expect((await Promise.all(many)).every((r) => r.created)).toBe(true);
    await expect(update).resolves.toMatchObject({ applied: true });

    store = openSqliteStore({ dataDir: dir, now: () => clock });
    expect(await mustGet(store, d.id)).toMatchObject({
      state: 'failed',
      attempts: [{ number: 1 }],
    });
    expect(await store.counts()).toMatchObject({ queued: 300, failed: 1 });
  });
});

describe('indexes', () => {
  /** The plan SQLite picks for `sql` on the store's file, one line per step. */
  function plan(sql: string, params: Record<string, unknown>): string {
    const db = new Database(path.join(dir, 'flowhook.db'), { readonly: true });
    try {
      const used = Object.fromEntries(
        Object.entries(params).filter(([name]) => new RegExp(`@${name}\\b`).test(sql)),
      );
      return db
        .prepare<Record<string, unknown>, { detail: string }>(`EXPLAIN QUERY PLAN ${sql}`)
        .all(used)
        .map((step) => step.detail)
        .join(' | ');
    } finally {
      db.close();
    }
  }

  const params = {
    source: 's',
    state: 'queued',
    route: 'r',
    flow: 'f',
    since: 1,
    until: 2,
    search: 'abcdefghij',
    search_prefix: 'abcdefghij%',
    search_suffix: '%abcdefghij',
    cursor_at: 1,
    cursor_id: 'x',
    limit: 10,
  };
  const none = {
    source: false,
    state: false,
    route: false,
    flow: false,
    since: false,
    until: false,
    search: false,
    cursor: false,
  };

  it.each([
    [{}, 'SCAN deliveries USING INDEX deliveries_received'],
    [{ source: true }, 'SEARCH deliveries USING INDEX deliveries_source (source=?)'],
    [{ state: true }, 'SEARCH deliveries USING INDEX deliveries_state (state=?)'],
    [
      { source: true, state: true },
      'SEARCH deliveries USING INDEX deliveries_source_state (source=? AND state=?)',
    ],
    [{ since: true }, 'SEARCH deliveries USING INDEX deliveries_received (received_at>?)'],
    [{ until: true }, 'SEARCH deliveries USING INDEX deliveries_received (received_at<?)'],
    [
      { cursor: true },
      'SEARCH deliveries USING INDEX deliveries_received ((received_at,id)<(?,?))',
    ],
    [
      { source: true, cursor: true },
      'SEARCH deliveries USING INDEX deliveries_source (source=? AND (received_at,id)<(?,?))',
    ],
    [
      { state: true, cursor: true },
      'SEARCH deliveries USING INDEX deliveries_state (state=? AND (received_at,id)<(?,?))',
    ],
    [{ route: true }, 'SCAN deliveries USING INDEX deliveries_received'],
    [{ flow: true }, 'SCAN deliveries USING INDEX deliveries_received'],
    [{ search: true }, 'SCAN deliveries USING INDEX deliveries_received'],
  ])('list %j reads deliveries through an index, in order (no sort)', async (shape, expected) => {
    await store.create(newDelivery(), DAY);
    const steps = plan(listSql({ ...none, ...shape }), params);
    expect(steps.split(' | ')[0]).toBe(expected);
    expect(steps).not.toContain('TEMP B-TREE');
  });

  it('a repeat is looked up in the key index, latest first, without a sort (migration 7)', async () => {
    await store.create(newDelivery({ idempotencyKey: 'k' }), DAY);
    expect(plan(LATEST_WITH_KEY, { key: 'k', source: 'github' })).toBe(
      'SEARCH deliveries USING INDEX deliveries_key (idempotency_key=? AND source=?)',
    );
  });
});

// Migration 8: the counts are kept by the store's writes, not by triggers. Whatever the writes,
// in whatever groups (some of them failing and rolled back, which makes their group run twice),
// counts() is what the rows say.
describe('counts kept by the store (issue 15)', () => {
  const STATE = fc.constantFrom(...DELIVERY_STATES);
  const OP = fc.oneof(
    fc.record({ op: fc.constant('create' as const), state: STATE }),
    fc.record({ op: fc.constant('repeat' as const), pick: fc.nat() }),
    fc.record({ op: fc.constant('set' as const), pick: fc.nat(), state: STATE }),
    fc.record({
      op: fc.constant('finish' as const),
      pick: fc.nat(),
      state: STATE,
      bogusAttempt: fc.boolean(),
    }),
    fc.record({ op: fc.constant('missing' as const), state: STATE }),
    fc.record({ op: fc.constant('claimDue' as const), limit: fc.integer({ min: 1, max: 4 }) }),
    fc.record({ op: fc.constant('claim' as const), pick: fc.nat(), from: STATE }),
    fc.record({ op: fc.constant('prune' as const), limit: fc.integer({ min: 1, max: 3 }) }),
  );
  type Op = typeof OP extends fc.Arbitrary<infer T> ? T : never;

  it('counts() is the rows by state after any groups of writes, failed ones included', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(OP, { maxLength: 8 }), { maxLength: 6 }),
        async (turns) => {
          const runDir = tempDir();
          const own = openSqliteStore({ dataDir: runDir, now: () => clock });
          const reader = () => new Database(path.join(runDir, 'flowhook.db'), { readonly: true });
          const ids: string[] = [];
          const pick = (n: number) => (ids.length === 0 ? 'none' : ids[n % ids.length]);
          const one = (o: Op): Promise<unknown> => {
            switch (o.op) {
              case 'create': {
                const d = newDelivery({
                  state: o.state,
                  ...(o.state === 'running' ? { lease: { owner: 'w1', until: clock - 1 } } : {}),
                });
                ids.push(d.id);
                return own.create(d, DAY);
              }
              case 'repeat': // the same id again: a UNIQUE constraint, the group's second try
                return own.create({ ...newDelivery(), id: pick(o.pick) }, DAY);
              case 'set':
                return own.update(pick(o.pick), { state: o.state });
              case 'finish': // under a lease: applies only to a running delivery held by w1
                return own.update(
                  pick(o.pick),
                  { state: o.state, lease: null },
                  {
                    owner: 'w1',
                    attempts: o.bogusAttempt
                      ? [attempt(), attempt({ outcome: 'bogus' as Attempt['outcome'] })]
                      : [attempt()],
                  },
                );
              case 'missing':
                return own.update('nope', { state: o.state });
              case 'claimDue':
                return own.claimDue(clock, o.limit, 'w1', 60_000);
              case 'claim':
                return own.claim(pick(o.pick), {
                  owner: 'w1',
                  until: clock + 1,
                  fromState: o.from,
                });
              case 'prune':
                return own.prune(clock, o.limit);
            }
          };
          try {
            for (const turn of turns) {
              // One turn: one group commit (two tries when a write of it throws).
              await Promise.allSettled(turn.map(one));
              const db = reader();
              const rows = db
                .prepare<[], { state: DeliveryState; n: number }>(
                  'SELECT state, count(*) AS n FROM deliveries GROUP BY state',
                )
                .all();
              db.close();
              const expected = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0]));
              for (const { state, n } of rows) expected[state] = n;
              expect(await own.counts()).toEqual(expected);
            }
          } finally {
            await own.close();
            cleanup(runDir);
          }
        },
      ),
      { numRuns: 40 },
    );
  });
});
