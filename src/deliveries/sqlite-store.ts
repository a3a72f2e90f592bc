import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations';
import {
  DELIVERY_STATES,
  FINAL_STATES,
  type Attempt,
  type CreateResult,
  type DeliveryFilter,
  type DeliveryPatch,
  type DeliveryRecord,
  type DeliveryState,
  type DeliveryStore,
  type NewDelivery,
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
}

/** How long a statement waits for another process's write transaction before SQLITE_BUSY. */
const BUSY_TIMEOUT_MS = 5000;

interface DeliveryRow {
  id: string;
  source: string;
  idempotency_key: string | null;
  mode: 'sync' | 'async';
  state: DeliveryState;
  received_at: number;
  updated_at: number;
  mapping_version: string;
  method: string;
  url: string;
  headers: string;
  body: Buffer;
  body_bytes: number;
  body_truncated: 0 | 1;
  routes: string;
  answer: string | null;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
}

interface AttemptRow {
  delivery_id: string;
  number: number;
  started_at: number;
  duration_ms: number;
  route: string;
  flow_id: string;
  outcome: 'succeeded' | 'failed';
  http_status: number | null;
  session_id: string | null;
  error: string | null;
}

const DELIVERY_COLUMNS = `id, source, idempotency_key, mode, state, received_at, updated_at,
  mapping_version, method, url, headers, body, body_bytes, body_truncated, routes, answer,
  next_attempt_at, lease_owner, lease_until, last_error`;

const ATTEMPT_COLUMNS = `delivery_id, number, started_at, duration_ms, route, flow_id, outcome,
  http_status, session_id, error`;

/**
 * The embedded delivery store: one SQLite file in DATA_DIR (WAL, synchronous=FULL), safe to share
 * between processes on one machine. Every write is one IMMEDIATE transaction, so `create` (the
 * idempotency check and insert) and `claimDue` (select and lease) are atomic across processes.
 * It stores what it is given: redacting secrets is the caller's job.
 */
export function openSqliteStore(options: SqliteStoreOptions): DeliveryStore {
  const now = options.now ?? Date.now;
  // Owner-only when flowhook creates it: the file holds request bodies.
  fs.mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const file = path.resolve(options.dataDir, options.file ?? 'flowhook.db');
  const db = new Database(file);
  try {
    db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.pragma('journal_mode = WAL');
    // FULL: a commit is fsynced before create() returns, so "acknowledged" survives power loss
    // too, not only a process crash (NORMAL in WAL may lose the last commits on power loss).
    db.pragma(`synchronous = ${options.sync === 'normal' ? 'NORMAL' : 'FULL'}`);
    db.pragma('foreign_keys = ON');
    // The WAL is reset after each checkpoint; cap what it keeps on disk after a burst.
    db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    migrate(db);
  } catch (err) {
    db.close();
    throw err;
  }

  // Every statement is prepared once, here; list() prepares one per filter shape, once.
  const sql = {
    insertDelivery: db.prepare(
      `INSERT INTO deliveries (${DELIVERY_COLUMNS})
       VALUES (@id, @source, @idempotency_key, @mode, @state, @received_at, @updated_at,
         @mapping_version, @method, @url, @headers, @body, @body_bytes, @body_truncated, @routes,
         @answer, @next_attempt_at, @lease_owner, @lease_until, @last_error)`,
    ),
    selectDelivery: db.prepare<[string], DeliveryRow>(
      `SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE id = ?`,
    ),
    selectAttempts: db.prepare<[string], AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM attempts WHERE delivery_id = ? ORDER BY number`,
    ),
    selectAttemptsOf: db.prepare<[string], AttemptRow>(
      `SELECT ${ATTEMPT_COLUMNS} FROM attempts
       WHERE delivery_id IN (SELECT value FROM json_each(?)) ORDER BY delivery_id, number`,
    ),
    selectKey: db.prepare<[string, string], { delivery_id: string; received_at: number }>(
      `SELECT delivery_id, received_at FROM idempotency_keys WHERE source = ? AND key = ?`,
    ),
    upsertKey: db.prepare(
      `INSERT INTO idempotency_keys (source, key, delivery_id, received_at)
       VALUES (@source, @key, @delivery_id, @received_at)
       ON CONFLICT (source, key)
       DO UPDATE SET delivery_id = excluded.delivery_id, received_at = excluded.received_at`,
    ),
    updateDelivery: db.prepare(
      `UPDATE deliveries SET state = @state, answer = @answer, next_attempt_at = @next_attempt_at,
         lease_owner = @lease_owner, lease_until = @lease_until, last_error = @last_error,
         routes = @routes, mapping_version = @mapping_version, updated_at = @updated_at
       WHERE id = @id`,
    ),
    touchDelivery: db.prepare(`UPDATE deliveries SET updated_at = @updated_at WHERE id = @id`),
    insertAttempt: db.prepare<Omit<AttemptRow, 'number'>, { number: number }>(
      `INSERT INTO attempts (${ATTEMPT_COLUMNS})
       SELECT @delivery_id, coalesce(max(number), 0) + 1, @started_at, @duration_ms, @route,
         @flow_id, @outcome, @http_status, @session_id, @error
       FROM attempts WHERE delivery_id = @delivery_id
       RETURNING number`,
    ),
    selectDue: db.prepare<{ now: number; limit: number }, { id: string }>(
      `SELECT id FROM deliveries WHERE due_at <= @now ORDER BY due_at, received_at LIMIT @limit`,
    ),
    claim: db.prepare(
      `UPDATE deliveries SET state = 'running', lease_owner = @owner, lease_until = @until,
         next_attempt_at = NULL, updated_at = @updated_at
       WHERE id = @id`,
    ),
    renewLease: db.prepare(
      `UPDATE deliveries SET lease_until = @until, updated_at = @updated_at
       WHERE id = @id AND state = 'running' AND lease_owner = @owner`,
    ),
    // No ORDER BY: any final delivery older than the cutoff may go, and without a sort a batch
    // stops after `limit` rows however large the backlog.
    prune: db.prepare(
      `DELETE FROM deliveries WHERE id IN (
         SELECT id FROM deliveries
         WHERE state IN (${FINAL_STATES.map((s) => `'${s}'`).join(', ')}) AND received_at < @before
         LIMIT @limit)`,
    ),
    counts: db.prepare<[], { state: DeliveryState; n: number }>(
      `SELECT state, n FROM delivery_counts`,
    ),
  };
  const listStatements = new Map<string, Database.Statement<ListParams, DeliveryRow>>();

  function withAttempts(rows: readonly DeliveryRow[]): DeliveryRecord[] {
    if (rows.length === 0) return [];
    const byDelivery = new Map<string, Attempt[]>(rows.map((r) => [r.id, []]));
    const attempts =
      rows.length === 1
        ? sql.selectAttempts.all(rows[0].id)
        : sql.selectAttemptsOf.all(JSON.stringify(rows.map((r) => r.id)));
    for (const a of attempts) byDelivery.get(a.delivery_id)?.push(attemptFromRow(a));
    return rows.map((r) => recordFromRow(r, byDelivery.get(r.id) ?? []));
  }

  function read(id: string): DeliveryRecord | undefined {
    const row = sql.selectDelivery.get(id);
    return row ? withAttempts([row])[0] : undefined;
  }

  function mustRead(id: string): DeliveryRecord {
    const record = read(id);
    if (!record) throw new Error(`delivery ${id} not found`);
    return record;
  }

  const createTx = db.transaction((delivery: NewDelivery, windowMs: number): CreateResult => {
    const key = delivery.idempotencyKey;
    if (key !== null) {
      const seen = sql.selectKey.get(delivery.source, key);
      if (seen && delivery.receivedAt - seen.received_at < windowMs) {
        const existing = read(seen.delivery_id);
        if (existing) return { created: false, existing };
      }
    }
    sql.insertDelivery.run(rowFromNew(delivery, now()));
    if (key !== null) {
      sql.upsertKey.run({
        source: delivery.source,
        key,
        delivery_id: delivery.id,
        received_at: delivery.receivedAt,
      });
    }
    return { created: true, record: mustRead(delivery.id) };
  });

  const updateTx = db.transaction((id: string, patch: DeliveryPatch): DeliveryRecord => {
    const row = sql.selectDelivery.get(id);
    if (!row) throw new Error(`delivery ${id} not found`);
    const lease = patch.lease !== undefined ? patch.lease : leaseOf(row);
    sql.updateDelivery.run({
      id,
      state: patch.state ?? row.state,
      answer: patch.answer !== undefined ? jsonOrNull(patch.answer) : row.answer,
      next_attempt_at:
        patch.nextAttemptAt !== undefined ? patch.nextAttemptAt : row.next_attempt_at,
      lease_owner: lease?.owner ?? null,
      lease_until: lease?.until ?? null,
      last_error: patch.lastError !== undefined ? jsonOrNull(patch.lastError) : row.last_error,
      routes: patch.routes !== undefined ? JSON.stringify(patch.routes) : row.routes,
      mapping_version: patch.mappingVersion ?? row.mapping_version,
      updated_at: now(),
    });
    return mustRead(id);
  });

  const addAttemptTx = db.transaction((id: string, attempt: Omit<Attempt, 'number'>): Attempt => {
    if (!sql.selectDelivery.get(id)) throw new Error(`delivery ${id} not found`);
    const inserted = sql.insertAttempt.get({
      delivery_id: id,
      started_at: attempt.startedAt,
      duration_ms: attempt.durationMs,
      route: attempt.route,
      flow_id: attempt.flowId,
      outcome: attempt.outcome,
      http_status: attempt.httpStatus ?? null,
      session_id: attempt.sessionId ?? null,
      error: attempt.error ? JSON.stringify(attempt.error) : null,
    });
    sql.touchDelivery.run({ id, updated_at: now() });
    return { ...attempt, number: inserted!.number };
  });

  const claimTx = db.transaction(
    (at: number, limit: number, owner: string, leaseMs: number): DeliveryRecord[] => {
      const ids = sql.selectDue.all({ now: at, limit }).map((r) => r.id);
      const updatedAt = now();
      for (const id of ids)
        sql.claim.run({ id, owner, until: at + leaseMs, updated_at: updatedAt });
      return ids.map(mustRead);
    },
  );

  const readTx = db.transaction((id: string) => read(id));

  const listTx = db.transaction((filter: DeliveryFilter) => {
    const after = filter.cursor !== undefined ? decodeCursor(filter.cursor) : undefined;
    const shape = {
      source: filter.source !== undefined,
      state: filter.state !== undefined,
      route: filter.route !== undefined,
      since: filter.since !== undefined,
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
      since: filter.since ?? null,
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

  const pruneTx = db.transaction(
    (before: number, limit: number) => sql.prune.run({ before, limit }).changes,
  );

  // Nested inside this, the store's own transactions become savepoints: one commit in all.
  const batchTx = db.transaction(<T>(work: () => T): T => work());

  return {
    batch(work) {
      return batchTx.immediate(work) as ReturnType<typeof work>;
    },
    create(delivery, windowMs) {
      return createTx.immediate(delivery, windowMs);
    },
    update(id, patch) {
      return updateTx.immediate(id, patch);
    },
    addAttempt(id, attempt) {
      return addAttemptTx.immediate(id, attempt);
    },
    get(id) {
      return readTx(id);
    },
    list(filter) {
      if (!Number.isInteger(filter.limit) || filter.limit < 1) {
        throw new RangeError(`list limit must be a positive integer, got ${filter.limit}`);
      }
      return listTx(filter);
    },
    claimDue(at, limit, owner, leaseMs) {
      if (limit < 1) return [];
      return claimTx.immediate(at, limit, owner, leaseMs);
    },
    renewLease(id, owner, until) {
      return sql.renewLease.run({ id, owner, until, updated_at: now() }).changes === 1;
    },
    prune(before, limit) {
      if (limit < 1) return 0;
      return pruneTx.immediate(before, limit);
    },
    counts() {
      const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<
        DeliveryState,
        number
      >;
      for (const { state, n } of sql.counts.all()) counts[state] = n;
      return counts;
    },
    close() {
      if (!db.open) return;
      db.pragma('optimize');
      db.close();
    },
  };
}

interface ListParams {
  source: string | null;
  state: string | null;
  route: string | null;
  since: number | null;
  cursor_at: number | null;
  cursor_id: string | null;
  limit: number;
}

/** One SELECT per filter shape, so each can use its index (no `@x IS NULL OR …`). */
function listSql(shape: Record<'source' | 'state' | 'route' | 'since' | 'cursor', boolean>) {
  const where: string[] = [];
  if (shape.source) where.push('source = @source');
  if (shape.state) where.push('state = @state');
  if (shape.since) where.push('received_at >= @since');
  if (shape.cursor) where.push('(received_at, id) < (@cursor_at, @cursor_id)');
  if (shape.route) {
    where.push(
      `EXISTS (SELECT 1 FROM json_each(deliveries.routes) AS r
               WHERE json_extract(r.value, '$.route') = @route)`,
    );
  }
  return `SELECT ${DELIVERY_COLUMNS} FROM deliveries
    ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
    ORDER BY received_at DESC, id DESC LIMIT @limit`;
}

/** The cursor is opaque to callers: base64url of `[receivedAt, id]` of a page's last item. */
function encodeCursor(receivedAt: number, id: string): string {
  return Buffer.from(JSON.stringify([receivedAt, id])).toString('base64url');
}

function decodeCursor(cursor: string): { receivedAt: number; id: string } {
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    value = undefined;
  }
  if (
    !Array.isArray(value) ||
    value.length !== 2 ||
    !Number.isSafeInteger(value[0]) ||
    typeof value[1] !== 'string'
  ) {
    throw new RangeError('invalid cursor');
  }
  return { receivedAt: value[0] as number, id: value[1] };
}

function rowFromNew(d: NewDelivery, updatedAt: number) {
  const body = Buffer.from(d.request.bodyBase64, 'base64');
  if (body.toString('base64') !== d.request.bodyBase64) {
    // Buffer.from skips what is not base64; storing that would lose bytes silently.
    throw new TypeError(`delivery ${d.id}: request.bodyBase64 is not canonical base64`);
  }
  return {
    id: d.id,
    source: d.source,
    idempotency_key: d.idempotencyKey,
    mode: d.mode,
    state: d.state,
    received_at: d.receivedAt,
    updated_at: updatedAt,
    mapping_version: d.mappingVersion,
    method: d.request.method,
    url: d.request.url,
    headers: JSON.stringify(d.request.headers),
    body,
    body_bytes: d.request.bodyBytes,
    body_truncated: d.request.bodyTruncated ? 1 : 0,
    routes: JSON.stringify(d.routes),
    answer: null,
    next_attempt_at: d.nextAttemptAt ?? null,
    lease_owner: d.lease?.owner ?? null,
    lease_until: d.lease?.until ?? null,
    last_error: null,
  };
}

function recordFromRow(row: DeliveryRow, attempts: Attempt[]): DeliveryRecord {
  return {
    id: row.id,
    source: row.source,
    idempotencyKey: row.idempotency_key,
    mode: row.mode,
    state: row.state,
    receivedAt: row.received_at,
    updatedAt: row.updated_at,
    mappingVersion: row.mapping_version,
    request: {
      method: row.method,
      url: row.url,
      headers: JSON.parse(row.headers) as Record<string, string>,
      bodyBase64: row.body.toString('base64'),
      bodyBytes: row.body_bytes,
      bodyTruncated: row.body_truncated === 1,
    },
    routes: JSON.parse(row.routes) as DeliveryRecord['routes'],
    answer: row.answer === null ? null : (JSON.parse(row.answer) as DeliveryRecord['answer']),
    attempts,
    nextAttemptAt: row.next_attempt_at,
    lease: leaseOf(row),
    lastError:
      row.last_error === null ? null : (JSON.parse(row.last_error) as DeliveryRecord['lastError']),
  };
}

function attemptFromRow(row: AttemptRow): Attempt {
  return {
    number: row.number,
    startedAt: row.started_at,
    durationMs: row.duration_ms,
    route: row.route,
    flowId: row.flow_id,
    outcome: row.outcome,
    ...(row.http_status !== null ? { httpStatus: row.http_status } : {}),
    ...(row.session_id !== null ? { sessionId: row.session_id } : {}),
    ...(row.error !== null ? { error: JSON.parse(row.error) as Attempt['error'] } : {}),
  };
}

function leaseOf(row: DeliveryRow): DeliveryRecord['lease'] {
  return row.lease_owner !== null && row.lease_until !== null
    ? { owner: row.lease_owner, until: row.lease_until }
    : null;
}

function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}
