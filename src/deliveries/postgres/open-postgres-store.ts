import pg, { type Pool, type PoolConfig } from 'pg';
import { canonicalBody } from '../canonical-body';
import { decodeCursor, encodeCursor } from '../list-cursor';
import {
  DELIVERY_STATES,
  FINAL_STATES,
  type Attempt,
  type ClaimedDelivery,
  type ClaimRequest,
  type CreateResult,
  type DeliveryPatch,
  type DeliveryRecord,
  type DeliveryState,
  type DeliveryStore,
  type NewDelivery,
  type UpdateOptions,
  type UpdateResult,
} from '../types';
import { recordFromNew } from '../record-from-new';
import {
  attemptFromRow,
  CLAIMED_COLUMN_LIST,
  claimedFromRow,
  DELIVERY_COLUMN_LIST,
  columnsOf as storedColumnsOf,
  recordFromRow as storedRecordFromRow,
  type StoredAttempt,
  type StoredClaimed,
  type StoredDelivery,
} from '../stored-columns';
import { StoreUnavailableError } from '../store-unavailable-error';
import { ADVISORY_LOCK_SPACE, PRUNE_LOCK } from './advisory-locks';
import { batchPerTurn } from './batch-per-turn';
import { inTransaction } from './in-transaction';
import { insertDeliveries } from './insert-deliveries';
import { updateDeliveries } from './update-deliveries';
import { listenForQueued } from './listen-for-queued';
import { likeLiteral } from '../like-literal';
import { migratePostgres } from './migrate-postgres';
import { POSTGRES_MIGRATIONS } from './postgres-migrations';
import { redactDatabaseUrl } from './redact-database-url';
import { sharePool } from './shared-pool';
import { unavailableOrSame } from './unavailable-or-same';

export interface PostgresStoreOptions {
  /** postgres://user:password@host:5432/database (DATABASE_URL). */
  readonly url: string;
  /** Connections this process keeps at most (DATABASE_POOL_SIZE); one more listens. */
  readonly poolSize?: number;
  /** Clock for updatedAt; default Date.now. */
  readonly now?: () => number;
  /** A connection dropped while idle, the listener reconnecting: logged, never thrown. */
  readonly onProblem?: (error: unknown, what: string) => void;
}

/** How long a request waits for a free connection, or for the database to accept one. */
const CONNECT_TIMEOUT_MS = 5000;
/** A statement that takes longer is cancelled (57014): the request gets 503, not a hang. */
const STATEMENT_TIMEOUT_MS = 15_000;

/** bigint columns (epoch ms, counts) as numbers: every value flowhook stores is below 2^53. */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === pg.types.builtins.INT8
      ? (value: string) => Number(value)
      : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

interface DeliveryRow extends StoredDelivery {
  body_truncated: boolean;
  /** Its attempts, as one JSON array of attempt rows, in order. */
  attempts: StoredAttempt[];
}

/** A delivery's attempts, as one JSON array of attempt rows in order (`d`: the delivery). */
const ATTEMPTS = `(SELECT coalesce(json_agg(a ORDER BY a.number), '[]'::json) FROM (
     SELECT number, started_at, duration_ms, route, flow_id, outcome, http_status, session_id,
       error, draft
     FROM attempts WHERE delivery_id = d.id) a) AS attempts`;

/** A delivery with its attempts, read in one statement (one snapshot). */
const RECORD = [...DELIVERY_COLUMN_LIST.map((column) => `d.${column}`), ATTEMPTS].join(', ');

/** What a claim reads (ClaimedDelivery): not the request, answer or explanation. */
const CLAIMED = [...CLAIMED_COLUMN_LIST.map((column) => `d.${column}`), ATTEMPTS].join(', ');

/** Creates gathered in one statement at most (a turn's worth under load is far fewer). */
const CREATE_BATCH_MAX = 64;

/** Writes gathered in one statement at most. */
const UPDATE_BATCH_MAX = 64;

interface UpdateCall {
  readonly id: string;
  readonly patch: DeliveryPatch;
  readonly options: UpdateOptions;
}

function notFound(id: string): Error {
  return new Error(`delivery ${id} not found`);
}

/** The attempts as stored: numbered after the ones before them. */
function updateResult(
  answer: { held: boolean; attemptCount: number },
  attempts: readonly Omit<Attempt, 'number'>[],
): UpdateResult {
  const first = answer.attemptCount - attempts.length + 1;
  return {
    applied: answer.held,
    attempts: attempts.map((attempt, i) => ({ ...attempt, number: first + i })),
  };
}

const FINAL_LIST = FINAL_STATES.map((s) => `'${s}'`).join(', ');

/**
 * The shared delivery store: any number of flowhook instances on one PostgreSQL database share
 * one store, one queue, one idempotency window and one replay log. Every method is one statement
 * (or, for pruning, one short transaction) that carries its own condition, so the guarantees of
 * the SQLite store hold across instances: the idempotency key's primary key decides between two
 * copies, claims take rows with FOR UPDATE SKIP LOCKED, a holder's write applies only while its
 * lease holds. Opening applies the schema migrations (serialized across instances by an advisory
 * lock) and refuses a database newer than this code. It stores what it is given: redacting
 * secrets is the caller's job.
 */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<DeliveryStore> {
  const now = options.now ?? Date.now;
  const where = redactDatabaseUrl(options.url);
  const onProblem = options.onProblem ?? (() => undefined);
  const config: PoolConfig = {
    connectionString: options.url,
    application_name: 'flowhook',
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    statement_timeout: STATEMENT_TIMEOUT_MS,
    query_timeout: STATEMENT_TIMEOUT_MS + 5000,
    keepAlive: true,
    types,
  };
  const pool: Pool = new pg.Pool({ ...config, max: options.poolSize ?? 10 });
  // An idle connection the server closed (restart, pg_terminate_backend) is dropped from the pool
  // and replaced on the next query; without this handler it would crash the process.
  pool.on('error', (error) => onProblem(error, 'an idle database connection was closed'));
  // A connection the server closes while it is checked out but between statements emits 'error'
  // on its client when no query is active; the pool listens only to idle clients, and an unheard
  // 'error' ends the process (seen at stop 10 under pg_terminate_backend). Every client gets a
  // listener of its own for its whole life: the statement in flight, if any, fails as before, and
  // whoever holds the client releases it with that error.
  pool.on('connect', (client) => client.on('error', () => undefined));
  let schemaVersion: number;
  try {
    schemaVersion = (await migratePostgres(pool, where)).to;
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw unavailableOrSame(error);
  }
  const listener = listenForQueued(config, (error) =>
    onProblem(error, 'the LISTEN connection dropped; reconnecting (workers poll meanwhile)'),
  );
  let closed = false;

  async function query<R extends object>(text: string, values: unknown[] = []): Promise<R[]> {
    if (closed) throw new Error('the delivery store is closed');
    try {
      return (await pool.query<R>(text, values)).rows;
    } catch (error) {
      throw unavailableOrSame(error);
    }
  }

  async function read(id: string): Promise<DeliveryRecord | undefined> {
    const [row] = await query<DeliveryRow>(`SELECT ${RECORD} FROM deliveries d WHERE d.id = $1`, [
      id,
    ]);
    return row ? recordFromRow(row) : undefined;
  }

  async function createOnce(delivery: NewDelivery, windowMs: number): Promise<CreateResult | null> {
    const body = canonicalBody(delivery);
    const updatedAt = now();
    const values = [
      delivery.id,
      delivery.source,
      delivery.idempotencyKey,
      delivery.mode,
      delivery.state,
      delivery.receivedAt,
      updatedAt,
      delivery.mappingVersion,
      delivery.request.method,
      delivery.request.url,
      JSON.stringify(delivery.request.headers),
      body,
      delivery.request.bodyBytes,
      delivery.request.bodyTruncated,
      JSON.stringify(delivery.routes),
      delivery.routes.map((r) => r.route),
      delivery.answer ? JSON.stringify(delivery.answer) : null,
      delivery.nextAttemptAt ?? null,
      delivery.lease?.owner ?? null,
      delivery.lease?.until ?? null,
      windowMs,
      delivery.explanation ? JSON.stringify(delivery.explanation) : null,
      delivery.lastError ? JSON.stringify(delivery.lastError) : null,
      delivery.traceContext ?? null,
    ];
    // The key row first: its primary key decides. A concurrent insert of the same key waits for
    // the other transaction and then sees its row, so of two copies exactly one gets `owned`.
    // A row older than the window is taken over by this delivery.
    const [row] = await query<{ inserted: boolean }>(
      `WITH owned AS (
         INSERT INTO idempotency_keys (source, key, delivery_id, received_at)
         SELECT $2, $3, $1, $6 WHERE $3::text IS NOT NULL
         ON CONFLICT (source, key) DO UPDATE
           SET delivery_id = excluded.delivery_id, received_at = excluded.received_at
           WHERE excluded.received_at - idempotency_keys.received_at >= $21
         RETURNING 1
       ), inserted AS (
         INSERT INTO deliveries (id, source, idempotency_key, mode, state, received_at, updated_at,
           mapping_version, method, url, headers, body, body_bytes, body_truncated, routes,
           route_names, answer, next_attempt_at, lease_owner, lease_until, explanation, last_error,
           trace_context)
         SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18,
           $19, $20, $22, $23, $24
         WHERE $3::text IS NULL OR EXISTS (SELECT 1 FROM owned)
         RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM inserted) AS inserted`,
      values,
    );
    if (row.inserted) return { created: true, record: recordFromNew(delivery, updatedAt) };
    const [existing] = await query<DeliveryRow>(
      `SELECT ${RECORD} FROM idempotency_keys k JOIN deliveries d ON d.id = k.delivery_id
       WHERE k.source = $1 AND k.key = $2`,
      [delivery.source, delivery.idempotencyKey],
    );
    // Gone between the two statements (pruned): try again, the key is free now.
    return existing ? { created: false, existing: recordFromRow(existing) } : null;
  }

  /** One delivery on its own: the batch's fallback, and the path of a duplicate. */
  async function createAlone(delivery: NewDelivery, windowMs: number): Promise<CreateResult> {
    // Again only when the delivery holding the key was pruned between the two statements.
    for (let tries = 0; tries < 3; tries++) {
      const result = await createOnce(delivery, windowMs);
      if (result) return result;
    }
    throw new Error(`delivery ${delivery.id}: its idempotency key kept changing`);
  }

  /**
   * The creates of one event-loop turn in one statement per window (one round trip, one commit,
   * where each alone costs both). A delivery the batch did not insert met a live key and is
   * settled alone (it reads the delivery holding the key), as is the second of two deliveries of
   * one batch with the same key. When the batch statement fails for another reason than the
   * database being unreachable, each delivery is tried alone, so one bad delivery fails alone.
   */
  async function createBatch(
    items: { delivery: NewDelivery; windowMs: number }[],
  ): Promise<PromiseSettledResult<CreateResult>[]> {
    if (items.length === 1)
      return Promise.allSettled([createAlone(items[0].delivery, items[0].windowMs)]);
    const results = new Map<NewDelivery, Promise<CreateResult>>();
    // Each is awaited at the end; marked handled now, so one failing while another group's
    // statement runs is not an unhandled rejection.
    const settle = (delivery: NewDelivery, result: Promise<CreateResult>) => {
      result.catch(() => undefined);
      results.set(delivery, result);
    };
    const groups = new Map<number, NewDelivery[]>();
    const keys = new Set<string>();
    const later: { delivery: NewDelivery; windowMs: number }[] = [];
    for (const { delivery, windowMs } of items) {
      const key =
        delivery.idempotencyKey === null ? null : `${delivery.source}\0${delivery.idempotencyKey}`;
      if (key !== null && keys.has(key)) {
        later.push({ delivery, windowMs });
        continue;
      }
      if (key !== null) keys.add(key);
      const group = groups.get(windowMs);
      if (group) group.push(delivery);
      else groups.set(windowMs, [delivery]);
    }
    const updatedAt = now();
    for (const [windowMs, deliveries] of groups) {
      let inserted: Set<string> | undefined;
      try {
        inserted = await insertDeliveries(query, deliveries, windowMs, updatedAt);
      } catch (error) {
        if (error instanceof StoreUnavailableError) throw error;
      }
      for (const delivery of deliveries) {
        settle(
          delivery,
          inserted?.has(delivery.id)
            ? Promise.resolve({ created: true, record: recordFromNew(delivery, updatedAt) })
            : createAlone(delivery, windowMs),
        );
      }
    }
    for (const { delivery, windowMs } of later) {
      await Promise.allSettled(results.values());
      settle(delivery, createAlone(delivery, windowMs));
    }
    return Promise.allSettled(items.map(({ delivery }) => results.get(delivery)!));
  }
  const createInBatch = batchPerTurn(createBatch, CREATE_BATCH_MAX);

  async function update(
    id: string,
    patch: DeliveryPatch,
    options: UpdateOptions,
  ): Promise<UpdateResult> {
    const attempts = options.attempts ?? [];
    const values: unknown[] = [id, options.owner ?? null, now(), attempts.length];
    const param = (value: unknown) => {
      values.push(value);
      return `$${values.length}`;
    };
    // Each column the patch sets, only when the condition holds (otherwise unchanged).
    const sets = Object.entries(columnsOf(patch)).map(
      ([column, value]) =>
        `${column} = CASE WHEN target.held THEN ${param(value)}${castOf(column)} ELSE d.${column} END`,
    );
    const rows = await query<{ held: boolean; attempt_count: number }>(
      `WITH target AS (
         SELECT id, ($2::text IS NULL OR (state = 'running' AND lease_owner = $2)) AS held
         FROM deliveries WHERE id = $1 FOR UPDATE
       ), changed AS (
         UPDATE deliveries d SET ${[...sets, ''].join(', ')}
           attempt_count = d.attempt_count + $4,
           updated_at = CASE WHEN target.held OR $4 > 0 THEN $3 ELSE d.updated_at END
         FROM target WHERE d.id = target.id
         RETURNING target.held, d.attempt_count
       ), added AS (
         INSERT INTO attempts (delivery_id, number, started_at, duration_ms, route, flow_id,
           outcome, http_status, session_id, error, draft)
         SELECT $1, changed.attempt_count - $4 + a.ord, a.started_at, a.duration_ms, a.route,
           a.flow_id, a.outcome, a.http_status, a.session_id, a.error, a.draft
         FROM changed, unnest(${param(attempts.map((a) => a.startedAt))}::bigint[],
           ${param(attempts.map((a) => a.durationMs))}::float8[],
           ${param(attempts.map((a) => a.route))}::text[],
           ${param(attempts.map((a) => a.flowId))}::text[],
           ${param(attempts.map((a) => a.outcome))}::text[],
           ${param(attempts.map((a) => a.httpStatus ?? null))}::integer[],
           ${param(attempts.map((a) => a.sessionId ?? null))}::text[],
           ${param(attempts.map((a) => (a.error ? JSON.stringify(a.error) : null)))}::text[],
           ${param(attempts.map((a) => a.draft === true))}::boolean[])
           WITH ORDINALITY AS a(started_at, duration_ms, route, flow_id, outcome, http_status,
             session_id, error, draft, ord)
       )
       SELECT held, attempt_count FROM changed`,
      values,
    );
    if (rows.length === 0) throw notFound(id);
    return updateResult({ held: rows[0].held, attemptCount: rows[0].attempt_count }, attempts);
  }
  function updateAlone(call: UpdateCall): Promise<UpdateResult> {
    return update(call.id, call.patch, call.options);
  }

  /**
   * The writes of one event-loop turn, grouped by the columns they set, one statement per group
   * (one round trip, one commit) with the single update's rule for each. Two writes of one
   * delivery are made one after the other, in the order they were asked; when a group's
   * statement fails for another reason than the database being unreachable, each of its writes
   * is made alone, so one bad write fails alone.
   */
  async function updateBatch(calls: UpdateCall[]): Promise<PromiseSettledResult<UpdateResult>[]> {
    if (calls.length === 1) return Promise.allSettled([updateAlone(calls[0])]);
    const results = new Map<UpdateCall, Promise<UpdateResult>>();
    const settle = (call: UpdateCall, result: Promise<UpdateResult>) => {
      result.catch(() => undefined); // awaited below; handled now (see createBatch)
      results.set(call, result);
    };
    // Each call with its columns, encoded once, by the columns it sets.
    const groups = new Map<string, { call: UpdateCall; columns: Record<string, unknown> }[]>();
    const ids = new Set<string>();
    const later: UpdateCall[] = [];
    for (const call of calls) {
      if (ids.has(call.id)) {
        later.push(call);
        continue;
      }
      ids.add(call.id);
      const columns = columnsOf(call.patch);
      const shape = Object.keys(columns).join(',');
      const group = groups.get(shape);
      if (group) group.push({ call, columns });
      else groups.set(shape, [{ call, columns }]);
    }
    const updatedAt = now();
    await Promise.all(
      [...groups.values()].map(async (group) => {
        if (group.length === 1) return settle(group[0].call, updateAlone(group[0].call));
        let answers: Awaited<ReturnType<typeof updateDeliveries>> | undefined;
        try {
          answers = await updateDeliveries(
            query,
            group.map(({ call, columns }) => ({
              id: call.id,
              columns,
              owner: call.options.owner ?? null,
              attempts: call.options.attempts ?? [],
            })),
            updatedAt,
          );
        } catch (error) {
          if (error instanceof StoreUnavailableError) throw error;
        }
        group.forEach(({ call }, i) => {
          const answer = answers?.[i];
          if (answers === undefined) settle(call, updateAlone(call));
          else if (answer === undefined) settle(call, Promise.reject(notFound(call.id)));
          else settle(call, Promise.resolve(updateResult(answer, call.options.attempts ?? [])));
        });
      }),
    );
    for (const call of later) {
      await Promise.allSettled(results.values());
      settle(call, updateAlone(call));
    }
    return Promise.allSettled(calls.map((call) => results.get(call)!));
  }
  const updateInBatch = batchPerTurn(updateBatch, UPDATE_BATCH_MAX);

  async function claimDue(
    at: number,
    limit: number,
    owner: string,
    leaseMs: number,
  ): Promise<ClaimedDelivery[]> {
    // SKIP LOCKED: instances claiming at once each take other rows instead of queueing behind one
    // another's locks; a row another holds is left to it.
    const rows = await query<StoredClaimed & Pick<DeliveryRow, 'attempts'> & { due_at: number }>(
      `WITH due AS (
         SELECT id, due_at, received_at FROM deliveries
         WHERE due_at <= $1 ORDER BY due_at, received_at LIMIT $2
         FOR UPDATE SKIP LOCKED
       )
       UPDATE deliveries d SET state = 'running', lease_owner = $3, lease_until = $4,
         next_attempt_at = NULL, updated_at = $5
       FROM due WHERE d.id = due.id
       RETURNING ${CLAIMED}, due.due_at`,
      [at, limit, owner, at + leaseMs, now()],
    );
    rows.sort((x, y) => x.due_at - y.due_at || x.received_at - y.received_at);
    return rows.map((row) => claimedFromRow(row, row.attempts.map(attemptFromRow)));
  }

  async function claim(id: string, request: ClaimRequest) {
    const [row] = await query<{ claimed: boolean; present: boolean }>(
      `WITH claimed AS (
         UPDATE deliveries SET state = 'running', lease_owner = $2, lease_until = $3,
           next_attempt_at = NULL, routes = coalesce($6, routes),
           route_names = coalesce($7, route_names),
           mapping_version = coalesce($8, mapping_version), updated_at = $9
         WHERE id = $1 AND state = $4 AND state <> 'running'
           AND ($5::integer IS NULL OR attempt_count = $5)
         RETURNING 1
       )
       SELECT EXISTS (SELECT 1 FROM claimed) AS claimed,
              EXISTS (SELECT 1 FROM deliveries WHERE id = $1) AS present`,
      [
        id,
        request.owner,
        request.until,
        request.fromState,
        request.attempts ?? null,
        request.patch?.routes !== undefined ? JSON.stringify(request.patch.routes) : null,
        request.patch?.routes !== undefined ? request.patch.routes.map((r) => r.route) : null,
        request.patch?.mappingVersion ?? null,
        now(),
      ],
    );
    if (row.claimed) return 'claimed' as const;
    return row.present ? ('changed' as const) : ('missing' as const);
  }

  /**
   * One batch, in one transaction, only by the instance holding the prune lock (the others get 0
   * and leave the backlog to it). Rows a worker holds are skipped, never waited for. The count
   * deltas are folded into one row per state on the way.
   */
  async function prune(before: number, limit: number): Promise<number> {
    if (closed) throw new Error('the delivery store is closed');
    return inTransaction(pool, async (client) => {
      const [lock] = (
        await client.query<{ got: boolean }>('SELECT pg_try_advisory_xact_lock($1, $2) AS got', [
          ADVISORY_LOCK_SPACE,
          PRUNE_LOCK,
        ])
      ).rows;
      if (!lock.got) return 0;
      const removed = await client.query(
        `DELETE FROM deliveries WHERE id IN (
           SELECT id FROM deliveries
           WHERE state IN (${FINAL_LIST}) AND received_at < $1
           ORDER BY received_at LIMIT $2
           FOR UPDATE SKIP LOCKED)`,
        [before, limit],
      );
      await client.query(
        `WITH folded AS (DELETE FROM delivery_count_deltas RETURNING state, n)
         INSERT INTO delivery_count_deltas (state, n)
         SELECT state, sum(n) FROM folded GROUP BY state`,
      );
      return removed.rowCount ?? 0;
    });
  }

  const store: DeliveryStore = {
    create(delivery, windowMs) {
      return createInBatch({ delivery, windowMs });
    },
    update(id, patch, options = {}) {
      return updateInBatch({ id, patch, options });
    },
    get(id) {
      return read(id);
    },
    async list(filter) {
      if (!Number.isInteger(filter.limit) || filter.limit < 1) {
        throw new RangeError(`list limit must be a positive integer, got ${filter.limit}`);
      }
      const after = filter.cursor !== undefined ? decodeCursor(filter.cursor) : undefined;
      const values: unknown[] = [];
      const param = (value: unknown) => {
        values.push(value);
        return `$${values.length}`;
      };
      const conditions: string[] = [];
      if (filter.source !== undefined) conditions.push(`d.source = ${param(filter.source)}`);
      if (filter.state !== undefined) conditions.push(`d.state = ${param(filter.state)}`);
      if (filter.since !== undefined) conditions.push(`d.received_at >= ${param(filter.since)}`);
      if (filter.until !== undefined) conditions.push(`d.received_at < ${param(filter.until)}`);
      if (filter.search !== undefined) {
        // flowhook's id, whole or by its first or last 8 or more characters, or the provider's id.
        const search = param(filter.search);
        const literal = likeLiteral(filter.search.toLowerCase());
        const part =
          filter.search.length >= 8
            ? ` OR d.id LIKE ${param(`${literal}%`)} OR d.id LIKE ${param(`%${literal}`)}`
            : '';
        conditions.push(`(d.idempotency_key = ${search} OR d.id = ${search}${part})`);
      }
      if (filter.flowId !== undefined) {
        conditions.push(
          `EXISTS (SELECT 1 FROM json_array_elements(d.routes::json) AS f
                   WHERE f->>'flowId' = ${param(filter.flowId)})`,
        );
      }
      if (after !== undefined) {
        conditions.push(
          `(d.received_at, d.id) < (${param(after.receivedAt)}, ${param(after.id)}::text)`,
        );
      }
      if (filter.route !== undefined) {
        conditions.push(`d.route_names @> ARRAY[${param(filter.route)}::text]`);
      }
      const rows = await query<DeliveryRow>(
        `SELECT ${RECORD} FROM deliveries d
         ${conditions.length ? `WHERE ${conditions.join(' AND ')}` : ''}
         ORDER BY d.received_at DESC, d.id DESC LIMIT ${param(filter.limit + 1)}`,
        values,
      );
      const page = rows.slice(0, filter.limit);
      const last = page[page.length - 1];
      return {
        items: page.map(recordFromRow),
        nextCursor:
          rows.length > filter.limit && last ? encodeCursor(last.received_at, last.id) : null,
      };
    },
    claimDue(at, limit, owner, leaseMs) {
      if (limit < 1) return closed ? closedError() : Promise.resolve([]);
      return claimDue(at, limit, owner, leaseMs);
    },
    claim(id, request) {
      return claim(id, request);
    },
    async renewLease(id, owner, until) {
      const rows = await query(
        `UPDATE deliveries SET lease_until = $3, updated_at = $4
         WHERE id = $1 AND state = 'running' AND lease_owner = $2 RETURNING 1`,
        [id, owner, until, now()],
      );
      return rows.length === 1;
    },
    prune(before, limit) {
      if (limit < 1) return closed ? closedError() : Promise.resolve(0);
      return prune(before, limit);
    },
    async counts() {
      const counts = Object.fromEntries(DELIVERY_STATES.map((s) => [s, 0])) as Record<
        DeliveryState,
        number
      >;
      const rows = await query<{ state: DeliveryState; n: number }>(
        `SELECT state, sum(n)::bigint AS n FROM delivery_count_deltas GROUP BY state`,
      );
      for (const { state, n } of rows) counts[state] = n;
      return counts;
    },
    async oldestDueAt(at) {
      // The first row of the due index (deliveries_due): bounded however long the queue is.
      const [row] = await query<{ due_at: number }>(
        `SELECT due_at FROM deliveries WHERE due_at <= $1 ORDER BY due_at LIMIT 1`,
        [at],
      );
      return row?.due_at ?? null;
    },
    async status() {
      const [row] = await query<{ version: number }>(
        'SELECT coalesce(max(version), 0)::integer AS version FROM flowhook_schema',
      );
      schemaVersion = row.version;
      return { engine: 'postgres' as const, location: where, schemaVersion };
    },
    watchQueued(wake) {
      return listener.add(wake);
    },
    async close() {
      if (closed) return;
      closed = true;
      await listener.close();
      // Waits for the queries in flight: a caller may be awaiting one.
      await pool.end();
    },
  };
  sharePool(store, pool);
  return store;
}

/** The latest schema version this code knows (what /readyz compares against). */
export const POSTGRES_SCHEMA_VERSION = POSTGRES_MIGRATIONS.length;

function closedError(): Promise<never> {
  return Promise.reject(new Error('the delivery store is closed'));
}

/** The columns a patch sets, encoded, plus route_names (routes[].route, for list(route)). */
function columnsOf(patch: DeliveryPatch): Record<string, unknown> {
  const values = storedColumnsOf(patch);
  if (patch.routes !== undefined) values.route_names = patch.routes.map((r) => r.route);
  return values;
}

/** A parameter's type inside CASE, where PostgreSQL cannot infer it from the column. */
function castOf(column: string): string {
  if (column === 'next_attempt_at' || column === 'lease_until') return '::bigint';
  if (column === 'route_names') return '::text[]';
  return '::text';
}

function recordFromRow(row: DeliveryRow): DeliveryRecord {
  return storedRecordFromRow(row, row.attempts.map(attemptFromRow));
}
