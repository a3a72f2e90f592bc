import type Database from 'better-sqlite3';
import type { WalSync } from './wal-sync';

export interface GroupCommit {
  /**
   * Queues a write; it settles after the commit of its group ("resolved" means "on disk").
   * `durable: false`: it resolves at the commit, without waiting for the fsync (the limits'
   * writes: a budget may forget its last change on a power loss, not on a crash).
   */
  write<T>(work: () => T, options?: { readonly durable?: boolean }): Promise<T>;
  /** Commits every queued write now (before the database closes: a caller may be awaiting one). */
  drain(): void;
}

/** What the owner of a group commit writes with every group (the delivery store's counts). */
export interface GroupHooks {
  /** First, inside each try of a group's transaction (a try that was rolled back runs again). */
  readonly begin?: () => void;
  /** After each write of a try: false when it threw and was rolled back alone (its savepoint). */
  readonly written?: (kept: boolean) => void;
  /** Last, inside the transaction, after every write of the try has run, before its commit. */
  readonly beforeCommit?: () => void;
}

/**
 * Group commit for the SQLite store. Writes are queued and run together at the next turn of the
 * event loop, all in one IMMEDIATE transaction: one commit, one fsync, for every request that
 * wrote in the same turn instead of one each. A write's promise settles after that commit, so
 * "resolved" still means "on disk".
 *
 * A write that throws changes nothing and fails alone. A group first runs without a savepoint per
 * write; when one of its writes throws, the whole try is rolled back and the group runs again with
 * each write in its own savepoint (the one that throws rolls back alone), so a group runs at most
 * twice. A savepoint costs each write a copy of every page it changes that the group had changed
 * before (so that it can roll back alone), and writes that throw are rare (issue 15: without the
 * savepoints and the counts triggers, which did the same, an async delivery's writes ran 777 K
 * instructions instead of 891 K). So a write must be safe to run twice: it may read and write the
 * database and return a value, and keep nothing outside it.
 *
 * With `durable` (the WAL's fsync, see wal-sync.ts; SQLite then commits without one), a group's
 * writes resolve only once an fsync that began after its commit has ended: one fsync is in flight
 * at a time, and the groups committed meanwhile share the next one. A write that failed is
 * rejected at once: nothing of it was written.
 */
export function createGroupCommit(
  db: Database.Database,
  durable?: WalSync,
  hooks: GroupHooks = {},
): GroupCommit {
  const queue: PendingWrite[] = [];
  let flushing: NodeJS.Immediate | undefined;
  /** Committed, waiting for the next fsync. */
  let unsynced: CommittedWrite[] = [];
  /** Committed, waiting for the fsync in flight (settled again by drain: a no-op). */
  let syncing: CommittedWrite[] | undefined;
  const savepoint = db.transaction((work: () => unknown) => work());
  /**
   * One try of a group. Plain: a write that throws rolls the whole try back (WriteThrew). Guarded:
   * each write in its own savepoint, so one that throws rolls back alone.
   */
  const group = db.transaction((writes: readonly PendingWrite[], guarded: boolean) => {
    hooks.begin?.();
    const settled = writes.map((write, index): Settled => {
      if (!guarded) {
        let value: unknown;
        try {
          value = write.work();
        } catch (error) {
          if (!db.inTransaction) throw new GroupAborted(index, error);
          throw new WriteThrew(error);
        }
        // SQLite ended the transaction (disk full, I/O) under a write that caught the error.
        if (!db.inTransaction) throw new GroupAborted(index, new Error(ROLLED_BACK));
        hooks.written?.(true);
        return { ok: true, value };
      }
      try {
        const value = savepoint(write.work);
        hooks.written?.(true);
        return { ok: true, value };
      } catch (error) {
        // Some errors (disk full, I/O, out of memory) make SQLite roll back the whole
        // transaction, not just the savepoint. Stop here: the writes after this one must not run
        // outside a transaction, and the ones before it were undone.
        if (!db.inTransaction) throw new GroupAborted(index, error);
        hooks.written?.(false);
        return { ok: false, error };
      }
    });
    hooks.beforeCommit?.();
    if (!db.inTransaction) throw new Error(ROLLED_BACK);
    return settled;
  });

  /**
   * Commits one group, then yields to the event loop before the next: a burst does not hold the
   * loop for several commits in a row, and other processes get the write lock in between.
   * `all` (close) drains the queue at once.
   */
  function flush(all = false): void {
    flushing = undefined;
    do {
      const writes = queue.splice(0, MAX_GROUP);
      if (writes.length === 0) break;
      commitGroup(writes);
    } while (all);
    if (queue.length > 0) flushing ??= setImmediate(flush);
  }

  function commitGroup(writes: PendingWrite[]): void {
    let settled: Settled[];
    try {
      try {
        settled = group.immediate(writes, false);
      } catch (error) {
        if (!(error instanceof WriteThrew)) throw error;
        // A write threw and the try was rolled back whole: again, each write alone.
        settled = group.immediate(writes, true);
      }
    } catch (error) {
      if (error instanceof GroupAborted) {
        // That write fails with its own error; the others were not written and go again first.
        writes[error.index].reject(error.cause);
        queue.unshift(...writes.filter((_, i) => i !== error.index));
        return;
      }
      // The commit itself failed (SQLITE_BUSY past the timeout, disk full): nothing was written.
      for (const write of writes) write.reject(error);
      return;
    }
    settled.forEach((outcome, i) => {
      const { resolve, reject } = writes[i];
      if (!outcome.ok) reject(outcome.error);
      // Only its settling waits for the fsync, not its work (what it wrote, say a request's body).
      else if (durable && writes[i].durable)
        unsynced.push({ resolve: settleWith(resolve, outcome.value), reject });
      else resolve(outcome.value);
    });
    if (durable) syncSoon(durable);
  }

  /** Starts an fsync for what was committed, unless one is in flight (its end starts the next). */
  function syncSoon(wal: WalSync): void {
    if (syncing !== undefined || unsynced.length === 0) return;
    const batch = unsynced;
    unsynced = [];
    syncing = batch;
    wal
      .sync()
      .then(
        () => {
          for (const write of batch) write.resolve(undefined);
        },
        (error: unknown) => {
          // Committed, but not known to be on disk (Linux may drop the pages of a failed fsync).
          for (const write of batch) write.reject(error);
        },
      )
      .finally(() => {
        syncing = undefined;
        syncSoon(wal);
      });
  }

  function write<T>(work: () => T, options?: { readonly durable?: boolean }): Promise<T> {
    if (!db.open) return storeClosed();
    return new Promise<T>((resolve, reject) => {
      queue.push({
        work,
        durable: options?.durable ?? true,
        resolve: resolve as (value: unknown) => void,
        reject,
      });
      flushing ??= setImmediate(flush);
    });
  }

  return {
    write,
    drain() {
      clearImmediate(flushing);
      flush(true);
      if (!durable) return;
      durable.syncNow();
      for (const write of [...(syncing ?? []), ...unsynced]) write.resolve(undefined);
      unsynced = [];
    },
  };
}

/** The rejection every operation of a closed store gets. */
export function storeClosed(): Promise<never> {
  return Promise.reject(new Error('the delivery store is closed'));
}

const ROLLED_BACK = 'SQLite rolled the transaction back (disk full or an I/O error)';

/** At most this many writes share one commit (a long transaction holds the write lock). */
const MAX_GROUP = 256;

interface PendingWrite {
  readonly work: () => unknown;
  /** Resolved only once an fsync after its commit has ended (when the group commit fsyncs). */
  readonly durable: boolean;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * A write's resolve, bound to its value: made out here, so that the closure holds these two and
 * not, through the scope it was made in, the whole group's writes.
 */
function settleWith(resolve: (value: unknown) => void, value: unknown): () => void {
  return () => resolve(value);
}

/** A write committed, waiting for an fsync to settle. */
type CommittedWrite = Pick<PendingWrite, 'resolve' | 'reject'>;

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };

/** A write of a group run without savepoints threw: the whole try is rolled back. */
class WriteThrew extends Error {
  constructor(cause: unknown) {
    super('a write of the group threw', { cause });
  }
}

/** One write of a group made SQLite roll back the whole transaction. */
class GroupAborted extends Error {
  constructor(
    readonly index: number,
    cause: unknown,
  ) {
    super('a write rolled back the whole group', { cause });
  }
}
