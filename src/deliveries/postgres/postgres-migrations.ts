/**
 * The PostgreSQL store's schema, as an ordered list of migrations (see migratePostgres). Never
 * edit a released migration: append a new one. Several helpers add columns; each addition is a
 * migration of its own, numbered after the last one on main.
 */
export interface PostgresMigration {
  /** 1, 2, …: the schema version once this migration ran. */
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

const FINAL = `'succeeded', 'failed', 'dead', 'ignored'`;

export const POSTGRES_MIGRATIONS: readonly PostgresMigration[] = [
  {
    version: 1,
    name: 'deliveries, attempts, idempotency keys, counts, queued notifications',
    sql: `
      -- Ids, sources and keys compare byte by byte (as in SQLite), whatever the database's
      -- collation: list() pages by (received_at, id), and its cursor must order the same way.
      CREATE TABLE deliveries (
        id              text    COLLATE "C" NOT NULL PRIMARY KEY,
        source          text    COLLATE "C" NOT NULL,
        idempotency_key text    COLLATE "C",
        mode            text    NOT NULL CHECK (mode IN ('sync', 'async')),
        state           text    NOT NULL CHECK (state IN ('queued', 'running', ${FINAL})),
        received_at     bigint  NOT NULL,
        updated_at      bigint  NOT NULL,
        mapping_version text    NOT NULL,
        method          text    NOT NULL,
        url             text    NOT NULL,
        headers         text    NOT NULL,             -- JSON object, as written
        body            bytea   NOT NULL,             -- raw bytes, up to the cap
        body_bytes      integer NOT NULL,
        body_truncated  boolean NOT NULL,
        routes          text    NOT NULL,             -- JSON array, as written
        route_names     text[]  NOT NULL,             -- routes[].route, for list(route)
        answer          text,                         -- JSON {status, body}
        next_attempt_at bigint,
        lease_owner     text,
        lease_until     bigint,
        last_error      text,                         -- JSON {code, message}
        late_answer     text,                         -- JSON LateAnswer (a response_url outcome)
        explanation     text,                         -- JSON RoutingExplanation, at receive time
        -- Attempts recorded so far: numbers the next ones, and lets a replay's claim fail when
        -- one was recorded since the caller read the delivery.
        attempt_count   integer NOT NULL DEFAULT 0,
        -- When claimDue may take it: a queued delivery when its retry is due (or at once), a
        -- running one when its lease expires; never for a final state.
        due_at          bigint GENERATED ALWAYS AS (
                          CASE state
                            WHEN 'queued' THEN coalesce(next_attempt_at, received_at)
                            WHEN 'running' THEN lease_until
                          END
                        ) STORED
      );
      CREATE INDEX deliveries_received ON deliveries (received_at, id);
      CREATE INDEX deliveries_source ON deliveries (source, received_at, id);
      CREATE INDEX deliveries_source_state ON deliveries (source, state, received_at, id);
      CREATE INDEX deliveries_state ON deliveries (state, received_at, id);
      CREATE INDEX deliveries_routes ON deliveries USING gin (route_names);
      -- claimDue(): only queued and running rows are in it.
      CREATE INDEX deliveries_due ON deliveries (due_at, received_at) WHERE due_at IS NOT NULL;

      CREATE TABLE attempts (
        delivery_id text    COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        number      integer NOT NULL,
        started_at  bigint  NOT NULL,
        duration_ms double precision NOT NULL,
        route       text    NOT NULL,
        flow_id     text    NOT NULL,
        outcome     text    NOT NULL CHECK (outcome IN ('succeeded', 'failed')),
        http_status integer,
        session_id  text,
        error       text,                             -- JSON {code, message}
        draft       boolean NOT NULL DEFAULT false,   -- run through a draft mapping (console)
        PRIMARY KEY (delivery_id, number)
      );

      -- One row per (source, key): the latest delivery received with that key. The primary key
      -- decides between two instances receiving one event at once; a row older than the window
      -- is taken over by the next delivery with that key.
      CREATE TABLE idempotency_keys (
        source      text   COLLATE "C" NOT NULL,
        key         text   COLLATE "C" NOT NULL,
        delivery_id text   COLLATE "C" NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
        received_at bigint NOT NULL,
        PRIMARY KEY (source, key)
      );
      CREATE INDEX idempotency_keys_delivery ON idempotency_keys (delivery_id);

      -- counts() without a scan and without a hot row: each change of state appends +1/-1 here
      -- (inserts never wait on each other across instances); counts() sums, and pruning folds
      -- the rows into one per state.
      CREATE TABLE delivery_count_deltas (
        state text   NOT NULL,
        n     bigint NOT NULL
      );

      CREATE FUNCTION flowhook_delivery_changed() RETURNS trigger LANGUAGE plpgsql AS $fn$
      BEGIN
        IF TG_OP = 'INSERT' THEN
          INSERT INTO delivery_count_deltas (state, n) VALUES (NEW.state, 1);
        ELSIF TG_OP = 'DELETE' THEN
          INSERT INTO delivery_count_deltas (state, n) VALUES (OLD.state, -1);
        ELSIF OLD.state <> NEW.state THEN
          INSERT INTO delivery_count_deltas (state, n) VALUES (OLD.state, -1), (NEW.state, 1);
        END IF;
        -- Wakes idle workers of every instance (LISTEN flowhook_queued) when a delivery becomes
        -- due now; one queued for later is found by polling when its time comes.
        IF TG_OP <> 'DELETE' AND NEW.state = 'queued' AND NEW.next_attempt_at IS NULL
           AND (TG_OP = 'INSERT' OR OLD.state <> 'queued') THEN
          PERFORM pg_notify('flowhook_queued', '');
        END IF;
        RETURN NULL;
      END
      $fn$;
      CREATE TRIGGER deliveries_changed
        AFTER INSERT OR DELETE OR UPDATE OF state, next_attempt_at ON deliveries
        FOR EACH ROW EXECUTE FUNCTION flowhook_delivery_changed();
    `,
  },
  {
    version: 2,
    name: 'the trace context of each delivery, so its later attempts join its trace (issue 12)',
    sql: `ALTER TABLE deliveries ADD COLUMN trace_context text;`,
  },
  {
    version: 3,
    name: 'flow limits: concurrency slots, token buckets, 429 blocks, circuits, pauses (issue 14)',
    sql: `
      -- The same tables as the SQLite store's migration 4, shared by every instance on this
      -- database. One row per flow (org/flow, or '*' for the platform-wide budget) that was ever
      -- limited, throttled or failed; writes to a flow's row are serialized by an advisory
      -- transaction lock keyed by the flow (src/limits/postgres-limits-store.ts).
      CREATE TABLE flow_states (
        flow            text    COLLATE "C" NOT NULL PRIMARY KEY,
        tokens          double precision,             -- token bucket: what is left
        refilled_at     bigint,                       -- … at this time
        park_until      bigint,                       -- the last time a waiting delivery was given
        avg_ms          double precision,             -- mean call time (spreads waiting deliveries)
        blocked_until   bigint,                       -- a 429: no call before this
        throttles       integer NOT NULL DEFAULT 0,   -- 429s in a row (backoff without Retry-After)
        circuit         text    NOT NULL DEFAULT 'closed'
                        CHECK (circuit IN ('closed', 'open', 'half-open')),
        changed_at      bigint,                       -- when the circuit last changed
        open_until      bigint,                       -- open: the probe may go from then
        probe_until     bigint,                       -- half-open: the probe holds it until then
        window_start    bigint,
        window_calls    integer NOT NULL DEFAULT 0,
        window_failures integer NOT NULL DEFAULT 0
      );

      -- A concurrency slot per running delivery and flow; it expires with the delivery's lease,
      -- so a slot of a killed instance frees itself.
      CREATE TABLE flow_slots (
        flow        text   COLLATE "C" NOT NULL,
        delivery_id text   COLLATE "C" NOT NULL,
        owner       text   NOT NULL,
        taken_at    bigint NOT NULL,
        until       bigint NOT NULL,
        PRIMARY KEY (flow, delivery_id)
      );
      CREATE INDEX flow_slots_delivery ON flow_slots (delivery_id);

      -- An org the platform throttled as a whole (429s from several of its flows).
      CREATE TABLE org_states (
        org           text   COLLATE "C" NOT NULL PRIMARY KEY,
        blocked_until bigint,
        last_flow     text   COLLATE "C",             -- the flow of the last 429 …
        last_until    bigint                          -- … and until when it blocked that flow
      );

      CREATE TABLE pauses (
        kind      text   NOT NULL CHECK (kind IN ('source', 'flow')),
        name      text   COLLATE "C" NOT NULL,
        paused_at bigint NOT NULL,
        PRIMARY KEY (kind, name)
      );
    `,
  },
  {
    version: 4,
    name: "the sender's traceparent kept as the trace context of deliveries still to run (issue 15)",
    // As the SQLite store's migration 9: the worker's claim no longer reads the stored headers.
    sql: `
      UPDATE deliveries SET trace_context = headers::json ->> 'traceparent'
      WHERE trace_context IS NULL AND state IN ('queued', 'running')
        AND headers::json ->> 'traceparent' IS NOT NULL;
    `,
  },
];
