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
    name: 'the routing explanation of each delivery; draft attempts (the console, issue 13)',
    sql: `
      ALTER TABLE deliveries ADD COLUMN explanation TEXT;
      ALTER TABLE attempts ADD COLUMN draft INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX deliveries_idempotency_key ON deliveries (idempotency_key)
        WHERE idempotency_key IS NOT NULL;
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
