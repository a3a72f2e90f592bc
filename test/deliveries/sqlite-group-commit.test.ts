import path from 'node:path';
import Database from 'better-sqlite3';
import { createGroupCommit } from '../../src/deliveries/sqlite-group-commit';
import type { WalSync } from '../../src/deliveries/wal-sync';
import { cleanup, tempDir } from './support';

// issue 15: with STORE_SYNC=full, SQLite commits without an fsync and the group commit fsyncs the
// WAL off the event loop; a write must still resolve only once it is on disk. The fsync is the
// seam here: each call is held until the test lets it end.
describe('createGroupCommit with the WAL fsynced by flowhook (issue 15)', () => {
  let dir: string;
  let db: Database.Database;
  let fsyncs: { end: (error?: Error) => void }[];
  let syncedNow: number;
  const wal: WalSync = {
    sync: () =>
      new Promise<void>((resolve, reject) =>
        fsyncs.push({ end: (error) => (error ? reject(error) : resolve()) }),
      ),
    syncNow: () => {
      syncedNow += 1;
    },
    close: () => undefined,
  };
  const turn = () => new Promise((resolve) => setImmediate(resolve));
  const rows = () => (db.prepare('SELECT count(*) AS n FROM t').get() as { n: number }).n;

  beforeEach(() => {
    dir = tempDir();
    db = new Database(path.join(dir, 'group.db'));
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec('CREATE TABLE t (n INTEGER NOT NULL)');
    fsyncs = [];
    syncedNow = 0;
  });
  afterEach(() => {
    db.close();
    cleanup(dir);
  });

  it('a write resolves after an fsync begun after its commit; groups committed meanwhile share the next', async () => {
    const group = createGroupCommit(db, wal);
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const done: number[] = [];
    const first = group.write(() => insert.run(1)).then(() => done.push(1));
    await turn();
    expect(rows()).toBe(1); // committed…
    expect(fsyncs).toHaveLength(1);
    expect(done).toEqual([]); // …but not acknowledged before its fsync ends

    const second = group.write(() => insert.run(2)).then(() => done.push(2));
    const third = group.write(() => insert.run(3)).then(() => done.push(3));
    await turn();
    await turn();
    expect(rows()).toBe(3);
    // One fsync at a time: the one in flight may have begun before the second group's commit.
    expect(fsyncs).toHaveLength(1);

    fsyncs[0].end();
    await first;
    expect(done).toEqual([1]);
    await turn();
    expect(fsyncs).toHaveLength(2);
    fsyncs[1].end();
    await Promise.all([second, third]);
    expect(done).toEqual([1, 2, 3]);
  });

  it('a failed fsync rejects the writes it was to make durable; a failed write is rejected at once', async () => {
    const group = createGroupCommit(db, wal);
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const written = group.write(() => insert.run(1));
    const refused = group.write(() => insert.run(null));
    // Matched by its text: better-sqlite3's error class may come from another test file's realm.
    expect(String(await refused.catch((error: unknown) => error))).toMatch(/NOT NULL/);
    expect(fsyncs).toHaveLength(1);
    fsyncs[0].end(new Error('EIO: i/o error, fsync'));
    await expect(written).rejects.toThrow(/EIO/);
  });

  it('a write that is not durable (the limits) resolves at its commit, in the same group, without an fsync of its own', async () => {
    const group = createGroupCommit(db, wal);
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const done: string[] = [];
    const delivery = group.write(() => insert.run(1)).then(() => done.push('durable'));
    const budget = group
      .write(() => insert.run(2), { durable: false })
      .then(() => done.push('not durable'));
    await budget;
    expect(rows()).toBe(2); // one group: both committed
    expect(done).toEqual(['not durable']);
    expect(fsyncs).toHaveLength(1); // for the durable one
    fsyncs[0].end();
    await delivery;
    expect(done).toEqual(['not durable', 'durable']);

    // Alone in its group: committed, resolved, and no fsync is started for it.
    await group.write(() => insert.run(3), { durable: false });
    await turn();
    expect(rows()).toBe(3);
    expect(fsyncs).toHaveLength(1);
  });

  it('drain commits what is queued, fsyncs on the spot and settles every write', async () => {
    const group = createGroupCommit(db, wal);
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const inFlight = group.write(() => insert.run(1));
    await turn();
    const queued = group.write(() => insert.run(2));
    group.drain();
    expect(syncedNow).toBe(1);
    await expect(Promise.all([inFlight, queued])).resolves.toHaveLength(2);
    expect(rows()).toBe(2);
  });

  it('a group runs without savepoints; when a write throws, it runs again with one per write and only that write fails', async () => {
    // Every statement the connection runs, better-sqlite3's transaction statements included.
    const statements: string[] = [];
    db.close();
    db = new Database(path.join(dir, 'group.db'), {
      verbose: (sql) => statements.push(String(sql)),
    });
    // Each hook, and whether it ran inside the transaction (it must: the counts are written there).
    const tries: string[] = [];
    const hook = (name: string) => () => tries.push(db.inTransaction ? name : `${name} outside`);
    const group = createGroupCommit(db, undefined, {
      begin: hook('begin'),
      written: (kept) => hook(kept ? 'kept' : 'undone')(),
      beforeCommit: hook('commit'),
    });
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    const savepoints = () => statements.filter((s) => /^SAVEPOINT/i.test(s)).length;

    await expect(
      Promise.all([
        group.write(() => insert.run(1).changes),
        group.write(() => insert.run(2).changes),
      ]),
    ).resolves.toEqual([1, 1]);
    expect(savepoints()).toBe(0);
    expect(tries).toEqual(['begin', 'kept', 'kept', 'commit']);
    expect(rows()).toBe(2);

    tries.length = 0;
    let runsOfFirst = 0;
    const results = await Promise.allSettled([
      group.write(() => {
        runsOfFirst += 1;
        return insert.run(3).changes;
      }),
      // Writes a row, then throws: nothing of it may stay.
      group.write(() => {
        insert.run(4);
        throw new Error('refused');
      }),
      group.write(() => insert.run(5).changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(/refused/);
    // The first try was rolled back whole (no commit), the second committed with the one undone.
    expect(tries).toEqual(['begin', 'kept', 'begin', 'kept', 'undone', 'kept', 'commit']);
    expect(runsOfFirst).toBe(2);
    expect(savepoints()).toBe(3);
    expect(db.prepare('SELECT n FROM t ORDER BY n').pluck().all()).toEqual([1, 2, 3, 5]);
  });

  it('a write that catches the error of a statement that made SQLite roll back the transaction fails alone; the others go again', async () => {
    const group = createGroupCommit(db);
    const insert = db.prepare('INSERT INTO t (n) VALUES (?)');
    insert.run(0);
    const pages = db.pragma('page_count', { simple: true }) as number;
    db.pragma(`max_page_count = ${pages + 2}`);
    const results = await Promise.allSettled([
      group.write(() => insert.run(1).changes),
      group.write(() => {
        try {
          // Too big for the cap: SQLITE_FULL, which ends the transaction.
          insert.run(Buffer.alloc(300_000));
        } catch {
          return 'swallowed';
        }
        return 'written';
      }),
      group.write(() => insert.run(2).changes),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((results[1] as PromiseRejectedResult).reason)).toMatch(
      /rolled the transaction back/,
    );
    expect(db.prepare('SELECT n FROM t ORDER BY n').pluck().all()).toEqual([0, 1, 2]);
  });
});
