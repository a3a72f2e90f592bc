import type Database from 'better-sqlite3';

/**
 * The delivery store's schema, as an ordered list of migrations. `PRAGMA user_version` holds the
 * number of migrations applied; opening applies the missing ones in one IMMEDIATE transaction, so
 * two processes opening a fresh file at once migrate it once. Never edit a released migration:
 * append a new one.
 */
export interface Migration {
  /** 1, 2, …: the user_version the database has once this migration ran. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FINAL = `'succeeded', 'failed', 'dead', 'ignored'`;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'deliveries, attempts, idempotency keys',
    sql: `
      CREATE TABLE deliveries (
        id              TEXT    NOT NULL PRIMARY KEY,
        source          TEXT    NOT NULL,
        idempotency_key TEXT,
        mode            TEXT    NOT NULL CHECK (mode IN ('sync', 'async')),
        state           TEXT    NOT NULL
                        CHECK (state IN ('queued', 'running', ${FINAL})),
        received_at     INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        mapping_version TEXT    NOT NULL,
        method          TEXT    NOT NULL,
        url             TEXT    NOT NULL,
        headers         TEXT    NOT NULL,             -- JSON object
        body            BLOB    NOT NULL,             -- raw bytes, up to the cap
        body_bytes      INTEGER NOT NULL,
        body_truncated  INTEGER NOT NULL CHECK (body_truncated IN (0, 1)),
        routes          TEXT    NOT NULL,             -- JSON array
        answer          TEXT,                         -- JSON {status, body}
        next_attempt_at INTEGER,
        lease_owner     TEXT,
        lease_until     INTEGER,
        last_error      TEXT,                         -- JSON {code, message}
        -- When claimDue may take it: a queued delivery when its retry is due (or at once), a
        -- running one when its lease expires; never for a final state.
        due_at          INTEGER GENERATED ALWAYS AS (
                          CASE state
                            WHEN 'queued' THEN coalesce(next_attempt_at, received_at)
                            WHEN 'running' THEN lease_until
                          END
                        ) VIRTUAL
      ) STRICT;

      -- list() newest first, with or without since/cursor.
      CREATE INDEX deliveries_received ON deliveries (received_at, id);
      -- list() by source, and by source and state.
      CREATE INDEX deliveries_source ON deliveries (source, received_at, id);
      CREATE INDEX deliveries_source_state ON deliveries (source, state, received_at, id);
      -- list() by state, prune() of final states by age.
      CREATE INDEX deliveries_state ON deliveries (state, received_at, id);
      -- claimDue(): only queued and running rows are in it.
      CREATE INDEX deliveries_due ON deliveries (due_at, received_at) WHERE due_at IS NOT NULL;

      CREATE TABLE attempts (
        delivery_id TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        number      INTEGER NOT NULL,
        started_at  INTEGER NOT NULL,
        duration_ms REAL    NOT NULL,
        route       TEXT    NOT NULL,
        flow_id     TEXT    NOT NULL,
        outcome     TEXT    NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
        http_status INTEGER,
        session_id  TEXT,
        error       TEXT,                             -- JSON {code, message}
        PRIMARY KEY (delivery_id, number)
      ) STRICT, WITHOUT ROWID;

      -- One row per (source, key): the latest delivery received with that key. A row older than
      -- the window is replaced by the next delivery with that key.
      CREATE TABLE idempotency_keys (
        source      TEXT    NOT NULL,
        key         TEXT    NOT NULL,
        delivery_id TEXT    NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (source, key)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX idempotency_keys_delivery ON idempotency_keys (delivery_id);
    `,
  },
  {
    version: 2,
    name: 'counts by state, kept by triggers (counts() without a scan)',
    sql: `
      CREATE TABLE delivery_counts (
        state TEXT    NOT NULL PRIMARY KEY,
        n     INTEGER NOT NULL
      ) STRICT, WITHOUT ROWID;
      INSERT INTO delivery_counts (state, n)
        SELECT value, 0 FROM json_each('["queued","running","succeeded","failed","dead","ignored"]');
      UPDATE delivery_counts
        SET n = (SELECT count(*) FROM deliveries WHERE deliveries.state = delivery_counts.state);

      CREATE TRIGGER deliveries_count_insert AFTER INSERT ON deliveries BEGIN
        UPDATE delivery_counts SET n = n + 1 WHERE state = NEW.state;
      END;
      CREATE TRIGGER deliveries_count_delete AFTER DELETE ON deliveries BEGIN
        UPDATE delivery_counts SET n = n - 1 WHERE state = OLD.state;
      END;
      CREATE TRIGGER deliveries_count_update AFTER UPDATE OF state ON deliveries
        WHEN OLD.state <> NEW.state BEGIN
        UPDATE delivery_counts SET n = n - 1 WHERE state = OLD.state;
        UPDATE delivery_counts SET n = n + 1 WHERE state = NEW.state;
      END;
    `,
  },
  {
    version: 3,
    name: 'late answers (a response_url outcome) recorded with the delivery',
    sql: `ALTER TABLE deliveries ADD COLUMN late_answer TEXT;`,
  },
  {
    version: 4,
    name: 'flow limits: concurrency slots, token buckets, 429 blocks, circuits, pauses',
    sql: `
      -- One row per flow (org/flow, or '*' for the platform-wide budget) that was ever limited,
      -- throttled or failed. Every field is shared by the processes using this file.
      CREATE TABLE flow_states (
        flow            TEXT    NOT NULL PRIMARY KEY,
        tokens          REAL,                          -- token bucket: what is left
        refilled_at     INTEGER,                       -- … at this time
        park_until      INTEGER,                       -- the last time a waiting delivery was given
        avg_ms          REAL,                          -- mean call time (spreads waiting deliveries)
        blocked_until   INTEGER,                       -- a 429: no call before this
        throttles       INTEGER NOT NULL DEFAULT 0,    -- 429s in a row (backoff without Retry-After)
        circuit         TEXT    NOT NULL DEFAULT 'closed'
                        CHECK (circuit IN ('closed', 'open', 'half-open')),
        changed_at      INTEGER,                       -- when the circuit last changed
        open_until      INTEGER,                       -- open: the probe may go from then
        probe_until     INTEGER,                       -- half-open: the probe holds it until then
        window_start    INTEGER,
        window_calls    INTEGER NOT NULL DEFAULT 0,
        window_failures INTEGER NOT NULL DEFAULT 0
      ) STRICT, WITHOUT ROWID;

      -- A concurrency slot per running delivery and flow; it expires with the delivery's lease, so
      -- a slot of a killed process frees itself.
      CREATE TABLE flow_slots (
        flow        TEXT    NOT NULL,
        delivery_id TEXT    NOT NULL,
        owner       TEXT    NOT NULL,
        taken_at    INTEGER NOT NULL,
        until       INTEGER NOT NULL,
        PRIMARY KEY (flow, delivery_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX flow_slots_delivery ON flow_slots (delivery_id);

      -- An org the platform throttled as a whole (429s from several of its flows).
      CREATE TABLE org_states (
        org           TEXT    NOT NULL PRIMARY KEY,
        blocked_until INTEGER,
        last_flow     TEXT,                            -- the flow of the last 429 …
        last_until    INTEGER                          -- … and until when it blocked that flow
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE pauses (
        kind      TEXT    NOT NULL CHECK (kind IN ('source', 'flow')),
        name      TEXT    NOT NULL,
        paused_at INTEGER NOT NULL,
        PRIMARY KEY (kind, name)
      ) STRICT, WITHOUT ROWID;
    `,
  },
  {
    version: 5,
    name: 'the routing explanation of each delivery; draft attempts (the console, issue 13)',
    sql: `
      ALTER TABLE deliveries ADD COLUMN explanation TEXT;
      ALTER TABLE attempts ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX deliveries_idempotency_key ON deliveries (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'the trace context of each delivery, so its later attempts join its trace (issue 12)',
    sql: `ALTER TABLE deliveries ADD COLUMN trace_context TEXT;`,
  },
  {
    version: 7,
    name: 'idempotency keys looked up in an index of deliveries, not a table of their own (issue 15)',
    // A table of keys cost each create two more inserts at random places (its primary key and
    // its delivery_id index, both keyed by random ids): two more pages written per delivery.
    // The latest delivery of a (source, key) is the first entry of this index from the end; the
    // console's search by the provider's id uses it too (it replaces deliveries_idempotency_key).
    // The view keeps the old table's name and meaning for anyone reading the file.
    sql: `
      CREATE INDEX deliveries_key ON deliveries (idempotency_key, source, received_at)
        WHERE idempotency_key IS NOT NULL;
      DROP INDEX deliveries_idempotency_key;
      DROP TABLE idempotency_keys;
      CREATE VIEW idempotency_keys (source, key, delivery_id, received_at) AS
        SELECT source, idempotency_key, id, max(received_at) FROM deliveries
        WHERE idempotency_key IS NOT NULL
        GROUP BY source, idempotency_key;
    `,
  },
  {
    version: 8,
    name: 'counts by state kept by the store, not by triggers (issue 15)',
    // A trigger makes the statement that fires it keep a statement journal: a copy of every page
    // it changes that the transaction had changed before, so that it can fail alone. With ~32
    // deliveries per group commit, those are most of its pages (the indexes' last leaves, the
    // counts). The store now adds each group's changes of state to delivery_counts itself, once
    // per group, in its transaction (sqlite-store.ts); with its group commit's savepoints gone
    // too, an async delivery's writes ran 777 K instructions instead of 891 K (issue 15,
    // docs/performance.md). The counts are made again from the rows here, once.
    sql: `
      DROP TRIGGER deliveries_count_insert;
      DROP TRIGGER deliveries_count_delete;
      DROP TRIGGER deliveries_count_update;
      UPDATE delivery_counts
        SET n = (SELECT count(*) FROM deliveries WHERE deliveries.state = delivery_counts.state);
    `,
  },
  {
    version: 9,
    name: "the sender's traceparent kept as the trace context of deliveries still to run (issue 15)",
    // With tracing off, a delivery used to be stored without a trace context, and the worker
    // passed on the sender's traceparent from the stored headers. The worker's claim no longer
    // reads the headers: the sender's traceparent is stored as the trace context on receipt, and
    // here for the deliveries a worker may still run. Its form is checked where it is used.
    sql: `
      UPDATE deliveries SET trace_context = json_extract(headers, '$.traceparent')
      WHERE trace_context IS NULL AND state IN ('queued', 'running')
        AND json_extract(headers, '$.traceparent') IS NOT NULL;
    `,
  },
];

/**
 * Brings `db` to the last of `migrations` (in one IMMEDIATE transaction) and returns the versions
 * before and after. Throws when the database is newer than the code, rather than guess.
 */
export function migrate(
  db: Database.Database,
  migrations: readonly Migration[] = MIGRATIONS,
): { from: number; to: number } {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1) throw new Error(`migration ${i + 1} has version ${m.version}`);
  });
  const latest = migrations.length;
  const run = db.transaction(() => {
    const from = db.pragma('user_version', { simple: true }) as number;
    if (from > latest) {
      throw new Error(
        `delivery store ${db.name} has schema version ${from}, newer than this flowhook knows ` +
          `(${latest}); upgrade flowhook, or point DATA_DIR at another folder`,
      );
    }
    for (const m of migrations.slice(from)) {
      db.exec(m.sql);
      db.pragma(`user_version = ${m.version}`);
    }
    return { from, to: latest };
  });
  return run.immediate();
}
