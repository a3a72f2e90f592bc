import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { decodeCursor, encodeCursor } from './list-cursor';
import { migrate } from './migrations';
import { recordFromNew } from './record-from-new';
import { createGroupCommit, storeClosed } from './sqlite-group-commit';
import { setWalPragmas, shareConnection } from './shared-sqlite';
import { openWalSync } from './wal-sync';
import { likeLiteral } from './like-literal';
import { listSql, type ListParams } from './sqlite-list-query';
import {
  ATTEMPT_COLUMNS,
  CLAIMED_COLUMNS,
  DELIVERY_COLUMNS,
  rowFrom,
  rowFromNew,
  valuesIn,
  type AttemptRow,
  type DeliveryRow,
} from './sqlite-rows';
import {
  attemptFromRow,
  CLAIMED_COLUMN_LIST,
  claimedFromRow,
  columnsOf,
  DELIVERY_COLUMN_LIST,
  recordFromRow,
  type StoredClaimed,
} from './stored-columns';
import {
  DELIVERY_STATES,
  FINAL_STATES,
  type Attempt,
  type ClaimedDelivery,
  type ClaimRequest,
  type CreateResult,
  type DeliveryFilter,
  type DeliveryPatch,
  type DeliveryRecord,
  type DeliveryState,
  type DeliveryStore,
  type NewDelivery,
  StoreFullError,
  type UpdateOptions,
  type UpdateResult,
} from './types';

export interface SqliteStoreOptions {
  /** Created (recursively) when missing. */
  readonly dataDir: string;
  /**
   * full (default): a commit is on disk before it returns — an acknowledged delivery survives a
   * power loss. normal: in WAL mode a commit survives a process crash but the last ones may be
   * lost with the machine; several times the write rate.
   */
  readonly sync?: 'full' | 'normal';
  /** File name inside dataDir (or an absolute path); default `flowhook.db`. */
  readonly file?: string;
  /** Clock for updatedAt; default Date.now. */
  readonly now?: () => number;
  /**
   * STORE_MAX_SIZE: past this many bytes in use, create() refuses new deliveries (StoreFullError).
   * Updates of accepted deliveries always go through, so the file may pass it by what they add.
   */
  readonly maxBytes?: number;
}

/** The latest delivery of a source with an idempotency key: migration 7's index, read backwards. */
export const LATEST_WITH_KEY = `SELECT id, received_at FROM deliveries
  WHERE idempotency_key = @key AND source = @source ORDER BY received_at DESC LIMIT 1`;

/**
 * The embedded delivery store: one SQLite file in DATA_DIR (WAL, fsynced per group commit), safe to share
 * between processes on one machine. Writes run in IMMEDIATE transactions (grouped: see `write`),
 * so `create` (the idempotency check and insert), `claimDue` (select and lease) and the
 * conditional `update` and `claim` are atomic across processes.
 * It stores what it is given: redacting secrets is the caller's job.
 */
export function openSqliteStore(options: SqliteStoreOptions): DeliveryStore {
  const now = options.now ?? Date.now;
  // Owner-only when flowhook creates it: the file holds request bodies.
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = path.resolve(options.dataDir, options.file ?? 'flowhook.db');
  const db = new Database(file);
  try {
    setWalPragmas(db);
    db.pragma('foreign_keys = ON');
    // A group's savepoints and statements keep the pages they change (to roll back alone) in a
    // sub-journal; on disk that was a temp file per group, written page by page: ~35 write
    // calls per delivery, a third of the store's CPU (issue 15). In memory it is freed at
    // commit, and nothing in it is needed after a crash (the WAL is).
    db.pragma('temp_store = MEMORY');
    // The WAL is reset after each checkpoint; cap what it keeps on disk after a burst.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    // 2 MB of page cache, SQLite's own default (better-sqlite3 builds it with 16 MB). The limits
    // store shares this connection, so the cache lasts between transactions and would grow to
    // the cap: 16 MB took the server's RSS from ~143 to ~159 MB at saturation, and neither 4 MB
    // nor 16 MB measured faster than 2 MB (issue 15).
    db.pragma('cache_size = -2000');
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }
  const wal = options.sync === 'normal' ? undefined : openWalSync(file);
  // No WAL file to fsync (it is there once a connection has used the database): SQLite's own.
  if (options.sync !== 'normal' && wal === undefined) db.pragma('synchronous = FULL');

  // Every statement is prepared once, here; list() prepares one per filter shape, once.
  const sql = {
    // Positional parameters and raw rows on the hot path (see sqlite-rows.ts).
    insertDelivery: db.prepare<unknown[]>(
      `INSERT INTO deliveries (${DELIVERY_COLUMNS})
       VALUES (${DELIVERY_COLUMN_LIST.map(() => '?').join(', ')})`,
    ),
    selectDelivery: db
      .prepare<[string], unknown[]>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`)
      .raw(),
    selectAttempts: db.prepare<[string], AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ? ORDER BY number`,
    ),
    selectAttemptsOf: db.prepare<[string], AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM attempts
       WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, number`,
    ),
    selectKey: db.prepare<{ key: string; source: string }, { id: string; received_at: number }>(
      LATEST_WITH_KEY,
    ),
    exists: db.prepare<[string], { 1: number }>(`SELECT 1 FROM deliveries WHERE id = ?`),
    stateOf: db
      .prepare<[string], DeliveryState>(`SELECT state FROM deliveries WHERE id = ?`)
      .pluck(),
    touch: db.prepare(`UPDATE deliveries SET updated_at = @updated_at WHERE id = @id`),
    // An attempt's number, then its insert: two statements, not one INSERT ... RETURNING. SQLite
    // runs RETURNING as a trigger that fills a temporary table (with a statement journal): ~28 K
    // instructions more per delivery, here as in the claim below (issue 15, bench/store-cost.ts).
    // In the write transaction of the group, the two are as atomic as one.
    nextAttempt: db
      .prepare<[string], number>(
        `SELECT coalesce(max(number), 0) + 1 FROM attempts WHERE delivery_id = ?`,
      )
      .pluck(),
    insertAttempt: db.prepare<unknown[]>(
      `INSERT INTO attempts (${ATTEMPT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    ),
    selectDue: db
      .prepare<[number, number], [string, DeliveryState]>(
        `SELECT id, state FROM deliveries WHERE due_at <= ? ORDER BY due_at, received_at LIMIT ?`,
      )
      .raw(),
    // The claim and its read in one statement, of the columns a run needs (ClaimedDelivery).
    claim: db.prepare<[string, number, number, string]>(
      `UPDATE deliveries SET state = 'running', lease_owner = ?, lease_until = ?,
         next_attempt_at = NULL, updated_at = ?
       WHERE id = ?`,
    ),
    // What a claim reads back: the columns a run needs (ClaimedDelivery), not the request, the
    // answer or the explanation.
    selectClaimed: db
      .prepare<[string], unknown[]>(`SELECT ${CLAIMED_COLUMNS} FROM deliveries WHERE id = ?`)
      .raw(),
    // A replay's claim: only if nobody moved the delivery since the caller read it.
    claimOne: db.prepare(
      `UPDATE deliveries SET state = 'running', lease_owner = @owner, lease_until = @until,
         next_attempt_at = NULL, routes = coalesce(@routes, routes),
         mapping_version = coalesce(@mapping_version, mapping_version), updated_at = @updated_at
       WHERE id = @id AND state = @from_state AND state <> 'running'
         AND (@attempts IS NULL
              OR (SELECT count(*) FROM attempts WHERE delivery_id = @id) = @attempts)`,
    ),
    renewLease: db.prepare(
      `UPDATE deliveries SET lease_until = @until, updated_at = @updated_at
       WHERE id = @id AND state = 'running' AND lease_owner = @owner`,
    ),
    // No ORDER BY: any final delivery older than the cutoff may go, and without a sort a batch
    // stops after `limit` rows however large the backlog.
    prune: db
      .prepare<{ before: number; limit: number }, DeliveryState>(
        `DELETE FROM deliveries WHERE id IN (
           SELECT id FROM deliveries
           WHERE state IN (${FINAL_STATES.map((s) => `'${s}'`).join(', ')}) AND received_at < @before
           LIMIT @limit)
         RETURNING state`,
      )
      .pluck(),
    // The first row of the due index: bounded however long the queue is.
    oldestDue: db
      .prepare<{ now: number }, number>(
        `SELECT due_at FROM deliveries WHERE due_at <= @now ORDER BY due_at LIMIT 1`,
      )
      .pluck(),
    counts: db.prepare<[], { state: DeliveryState; n: number }>(
      `SELECT state, n FROM delivery_counts`,
    ),
    addCount: db.prepare<[number, DeliveryState]>(
      `UPDATE delivery_counts SET n = n + ? WHERE state = ?`,
    ),
    // Pages in use (free pages left by pruning are reused before the file grows). In WAL mode
    // this is the database as of the last commit, WAL included.
    bytesInUse: db
      .prepare<[], number>(
        `SELECT (page_count - freelist_count) * page_size
         FROM pragma_page_count(), pragma_freelist_count(), pragma_page_size()`,
      )
      .pluck(),
  };
  const listStatements = new Map<string, Database.Statement<ListParams, DeliveryRow>>();

  const updateStatements = new Map<string, Database.Statement>();

  /**
   * The deliveries' changes of state in the group being written, added to delivery_counts just
   * before its commit (migration 8: no triggers). A write's own are kept once it has run
   * (`written`): one that throws and is rolled back alone leaves none, and each try of a group
   * starts from none.
   */
  const moved = new Map<DeliveryState, number>();
  /** The write running now: from, to, from, to… */
  const moving: (DeliveryState | undefined)[] = [];
  function tally(from: DeliveryState | undefined, to: DeliveryState | undefined): void {
    if (from !== to) moving.push(from, to);
  }
  function written(kept: boolean): void {
    for (let i = 0; kept && i < moving.length; i += 2) {
      const from = moving[i];
      const to = moving[i + 1];
      if (from !== undefined) moved.set(from, (moved.get(from) ?? 0) - 1);
      if (to !== undefined) moved.set(to, (moved.get(to) ?? 0) + 1);
    }
    moving.length = 0;
  }
  function writeCounts(): void {
    for (const [state, n] of moved) if (n !== 0) sql.addCount.run(n, state);
    moved.clear();
  }

  /** The attempts of these deliveries (one statement), by delivery. */
  function attemptsOf(ids: readonly string[]): Map<string, Attempt[]> {
    const byDelivery = new Map<string, Attempt[]>(ids.map((id) => [id, []]));
    const attempts =
      ids.length === 1
        ? sql.selectAttempts.all(ids[0])
        : sql.selectAttemptsOf.all(JSON.stringify(ids));
    for (const a of attempts) byDelivery.get(a.delivery_id)?.push(attemptFromRow(a));
    return byDelivery;
  }

  function withAttempts(rows: readonly DeliveryRow[]): DeliveryRecord[] {
    if (rows.length === 0) return [];
    const byDelivery = attemptsOf(rows.map((r) => r.id));
    return rows.map((r) => recordFromRow(r, byDelivery.get(r.id)!));
  }

  function read(id: string): DeliveryRecord | undefined {
    const values = sql.selectDelivery.get(id);
    return values
      ? withAttempts([rowFrom<DeliveryRow>(DELIVERY_COLUMN_LIST, values)])[0]
      : undefined;
  }

  function create(delivery: NewDelivery, windowMs: number): CreateResult {
    const key = delivery.idempotencyKey;
    if (key !== null) {
      const seen = sql.selectKey.get({ key, source: delivery.source });
      if (seen && delivery.receivedAt - seen.received_at < windowMs) {
        const existing = read(seen.id);
        if (existing) return { created: false, existing };
      }
    }
    // Checked inside the write, before anything is stored: a full store refuses before accepting.
    if (
      options.maxBytes !== undefined &&
      sql.bytesInUse.get()! + delivery.request.bodyBase64.length > options.maxBytes
    ) {
      throw new StoreFullError(options.maxBytes);
    }
    const updatedAt = now();
    // The key is found again through the row itself (migration 7): nothing else to write.
    sql.insertDelivery.run(...valuesIn(DELIVERY_COLUMN_LIST, rowFromNew(delivery, updatedAt)));
    tally(undefined, delivery.state);
    return { created: true, record: recordFromNew(delivery, updatedAt) };
  }

  /** One UPDATE per patch shape (the columns it sets, and whether it is conditional), prepared once. */
  function updateStatement(columns: readonly string[], conditional: boolean): Database.Statement {
    const name = `${columns.join(',')}|${conditional}`;
    let statement = updateStatements.get(name);
    if (!statement) {
      // Positional: the columns' values, updated_at, the id, and the owner when conditional.
      const sets = [...columns, 'updated_at'].map((c) => `${c} = ?`).join(', ');
      statement = db.prepare(
        `UPDATE deliveries SET ${sets} WHERE id = ?${
          conditional ? ` AND state = 'running' AND lease_owner = ?` : ''
        }`,
      );
      updateStatements.set(name, statement);
    }
    return statement;
  }

  function update(id: string, patch: DeliveryPatch, options: UpdateOptions): UpdateResult {
    const values = columnsOf(patch);
    const columns = Object.keys(values).sort();
    const conditional = options.owner !== undefined;
    // What it changes from, for the counts: a conditional update applies only to 'running'.
    const from =
      patch.state === undefined ? undefined : conditional ? 'running' : sql.stateOf.get(id);
    const parameters = valuesIn(columns, values);
    parameters.push(now(), id);
    if (conditional) parameters.push(options.owner);
    const changes = updateStatement(columns, conditional).run(...parameters).changes;
    if (changes === 0 && !sql.exists.get(id)) throw new Error(`delivery ${id} not found`);
    const attempts = (options.attempts ?? []).map((attempt) => {
      const number = sql.nextAttempt.get(id)!;
      sql.insertAttempt.run(
        id,
        number,
        attempt.startedAt,
        attempt.durationMs,
        attempt.route,
        attempt.flowId,
        attempt.outcome,
        attempt.httpStatus ?? null,
        attempt.sessionId ?? null,
        attempt.error ? JSON.stringify(attempt.error) : null,
        attempt.draft ? 1 : 0,
      );
      return { ...attempt, number };
    });
    // The attempts are part of the record: it changed even when the patch did not apply.
    if (changes === 0 && attempts.length > 0) sql.touch.run({ id, updated_at: now() });
    if (changes === 1) tally(from, patch.state);
    return { applied: changes === 1, attempts };
  }

  function claimDue(at: number, limit: number, owner: string, leaseMs: number): ClaimedDelivery[] {
    const due = sql.selectDue.all(at, limit);
    if (due.length === 0) return [];
    const updatedAt = now();
    const rows: StoredClaimed[] = [];
    for (const [id, state] of due) {
      sql.claim.run(owner, at + leaseMs, updatedAt, id);
      rows.push(rowFrom<StoredClaimed>(CLAIMED_COLUMN_LIST, sql.selectClaimed.get(id)!));
      tally(state, 'running');
    }
    const byDelivery = attemptsOf(rows.map((r) => r.id));
    return rows.map((r) => claimedFromRow(r, byDelivery.get(r.id)!));
  }

  function claim(id: string, request: ClaimRequest): 'claimed' | 'changed' | 'missing' {
    const changes = sql.claimOne.run({
      id,
      owner: request.owner,
      until: request.until,
      from_state: request.fromState,
      attempts: request.attempts ?? null,
      routes: request.patch?.routes !== undefined ? JSON.stringify(request.patch.routes) : null,
      mapping_version: request.patch?.mappingVersion ?? null,
      updated_at: now(),
    }).changes;
    if (changes === 1) {
      tally(request.fromState, 'running');
      return 'claimed';
    }
    return sql.exists.get(id) ? 'changed' : 'missing';
  }

  const readTx = db.transaction((id: string) => read(id));

  const listTx = db.transaction((filter: DeliveryFilter) => {
    const after = filter.cursor !== undefined ? decodeCursor(filter.cursor) : undefined;
    const shape = {
      source: filter.source !== undefined,
      state: filter.state !== undefined,
      route: filter.route !== undefined,
      flow: filter.flowId !== undefined,
      since: filter.since !== undefined,
      until: filter.until !== undefined,
      search: filter.search !== undefined,
      cursor: after !== undefined,
    };
    const name = JSON.stringify(shape);
    let statement = listStatements.get(name);
    if (!statement) {
      statement = db.prepare<ListParams, DeliveryRow>(listSql(shape));
      listStatements.set(name, statement);
    }
    const rows = statement.all({
      source: filter.source ?? null,
      state: filter.state ?? null,
      route: filter.route ?? null,
      flow: filter.flowId ?? null,
      since: filter.since ?? null,
      until: filter.until ?? null,
      search: filter.search ?? null,
      // The start or the end of flowhook's id, escaped: a search is literal, never a LIKE pattern.
      search_prefix:
        filter.search !== undefined ? `${likeLiteral(filter.search.toLowerCase())}%` : null,
      search_suffix:
        filter.search !== undefined ? `%${likeLiteral(filter.search.toLowerCase())}` : null,
      cursor_at: after?.receivedAt ?? null,
      cursor_id: after?.id ?? null,
      limit: filter.limit + 1,
    });
    const page = rows.slice(0, filter.limit);
    const last = page[page.length - 1];
    return {
      items: withAttempts(page),
      nextCursor:
        rows.length > filter.limit && last ? encodeCursor(last.received_at, last.id) : null,
    };
  });

  const writes = createGroupCommit(db, wal, {
    begin: () => {
      moved.clear();
      moving.length = 0;
    },
    written,
    beforeCommit: writeCounts,
  });
  const write = writes.write;

  /** A read, as a promise; a synchronous throw becomes a rejection. */
  function readAsync<T>(work: () => T): Promise<T> {
    try {
      return Promise.resolve(work());
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  const store: DeliveryStore = {
    create(delivery, windowMs) {
      return write(() => create(delivery, windowMs));
    },
    update(id, patch, options = {}) {
      return write(() => update(id, patch, options));
    },
    get(id) {
      return readAsync(() => readTx(id));
    },
    list(filter) {
      return readAsync(() => {
        if (!Number.isInteger(filter.limit) || filter.limit < 1) {
          throw new RangeError(`list limit must be a positive integer, got ${filter.limit}`);
        }
        return listTx(filter);
      });
    },
    claimDue(at, limit, owner, leaseMs) {
      if (limit < 1) return db.open ? Promise.resolve([]) : storeClosed();
      return write(() => claimDue(at, limit, owner, leaseMs));
    },
    claim(id, request) {
      return write(() => claim(id, request));
    },
    renewLease(id, owner, until) {
      return write(() => sql.renewLease.run({ id, owner, until, updated_at: now() }).changes === 1);
    },
    prune(before, limit) {
      if (limit < 1) return db.open ? Promise.resolve(0) : storeClosed();
      return write(() => {
        const states = sql.prune.all({ before, limit });
        for (const state of states) tally(state, undefined);
        return states.length;
      });
    },
    status() {
      return readAsync(() => ({
        engine: 'sqlite' as const,
        location: file,
        schemaVersion: db.pragma('user_version', { simple: true }) as number,
      }));
    },
    counts() {
      return readAsync(() => {
        const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<
          DeliveryState,
          number
        >;
        for (const { state, n } of sql.counts.all()) counts[state] = n;
        return counts;
      });
    },
    oldestDueAt(at) {
      return readAsync(() => sql.oldestDue.get({ now: at }) ?? null);
    },
    close() {
      return readAsync(() => {
        if (!db.open) return;
        // Pending writes are committed first: a caller may be awaiting one.
        writes.drain();
        try {
          db.pragma('optimize');
        } finally {
          db.close();
          wal?.close();
        }
      });
    },
  };
  // The limits store of this process uses this connection (shared-sqlite.ts).
  shareConnection(store, { db, writes });
  return store;
}
