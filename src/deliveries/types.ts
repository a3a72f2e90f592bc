/**
 * The delivery store contract (docs/architecture.md#the-store-contract). Every verified request is a delivery; the store keeps
 * it durable (raw request, redacted headers, mapping version, routes, variables, attempts, state)
 * so that nothing acknowledged is lost and nothing is run twice. SQLite (embedded, one machine)
 * and PostgreSQL (DATABASE_URL, any number of instances) implement it.
 */

export type DeliveryState =
  /** Accepted, waiting for a worker (async, or sync past replyWithin, or a retry is due). */
  | 'queued'
  /** A worker or a sync request holds it (see `lease`). */
  | 'running'
  /** Every execution succeeded. */
  | 'succeeded'
  /** Refused for good without retry: 4xx from the flow API, 400/415/422 on the request. */
  | 'failed'
  /** Retries exhausted (attempts or age); can be replayed. */
  | 'dead'
  /** Verified, but no route matched. */
  | 'ignored';

export const DELIVERY_STATES: readonly DeliveryState[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'dead',
  'ignored',
];

export const FINAL_STATES: readonly DeliveryState[] = ['succeeded', 'failed', 'dead', 'ignored'];

export interface StoredRequest {
  readonly method: string;
  /** Path and query as received, with secret-bearing query values redacted. */
  readonly url: string;
  /** Lower-case names; Authorization, Cookie, signature and token headers redacted. */
  readonly headers: Readonly<Record<string, string>>;
  /** The raw body, up to the cap (base64 keeps it byte-exact for replay). */
  readonly bodyBase64: string;
  readonly bodyBytes: number;
  readonly bodyTruncated: boolean;
}

/** The answer the sender got, kept so an idempotent repeat gets it again. */
export interface StoredAnswer {
  readonly status: number;
  /** JSON; or, with `contentType`, the exact text sent (a `respond:` template's rendering). */
  readonly body: unknown;
  readonly contentType?: string;
  /** A template's own headers. */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * A late answer (Slack's response_url): promised when the sender was told `running` or `queued`
 * by a source with `respond: slack`, POSTed when the delivery ends. Only the origin is kept: the
 * full URL is a capability, and it is in the stored request already.
 */
export interface LateAnswer {
  /** pending: promised, not sent yet; refused: never sent (no URL, not on RESPONSE_URL_ALLOW). */
  readonly state: 'pending' | 'sent' | 'failed' | 'refused';
  readonly origin?: string;
  /** POSTs tried. */
  readonly attempts: number;
  /** The receiver's last status, when it answered. */
  readonly httpStatus?: number;
  /** Why it was refused or failed. */
  readonly reason?: string;
  /** When it was sent or given up (ms). */
  readonly at?: number;
}

export interface Attempt {
  /** 1, 2, … in the order they started. */
  readonly number: number;
  readonly startedAt: number;
  readonly durationMs: number;
  readonly route: string;
  readonly flowId: string;
  readonly outcome: 'succeeded' | 'failed';
  /** The flow API's HTTP status, when it answered. */
  readonly httpStatus?: number;
  readonly sessionId?: string;
  /** Error code and message (never the token). */
  readonly error?: { readonly code: string; readonly message: string };
  /** Made by a replay with a draft mapping (the console's playground), not the loaded one. */
  readonly draft?: boolean;
}

/** One condition as it was evaluated: its text, whether it held, and the values found. */
export interface StoredConditionTrace {
  readonly condition: string;
  readonly held: boolean;
  readonly found?: readonly unknown[];
  readonly children?: readonly StoredConditionTrace[];
}

/**
 * Why a delivery routed as it did, computed once when it was received, with the mapping then in
 * force (the console and `flowhook deliveries <id>` show it): the verification, every route and
 * condition with the values found, the routes chosen, and the refusal when there was one.
 */
export interface RoutingExplanation {
  readonly mappingVersion: string;
  readonly file: string;
  readonly dispatch: 'first' | 'all';
  /** The preset that verified it, and which secret of a rotation matched (0-based; null = n/a). */
  readonly verification: { readonly provider: string; readonly secretIndex: number | null };
  readonly routes: readonly {
    readonly name: string;
    readonly held: boolean;
    readonly conditions: readonly StoredConditionTrace[];
  }[];
  readonly matched: readonly string[];
  readonly error?: { readonly status: number; readonly code: string; readonly message: string };
}

export interface DeliveryRecord {
  readonly id: string;
  readonly source: string;
  /** The key repeats are recognised by (provider delivery id or the source's idempotency.key). */
  readonly idempotencyKey: string | null;
  readonly mode: 'sync' | 'async';
  readonly state: DeliveryState;
  readonly receivedAt: number;
  readonly updatedAt: number;
  /** Content hash of the mapping file that handled it. */
  readonly mappingVersion: string;
  readonly request: StoredRequest;
  /** Routes chosen, and the variables extracted for each. */
  readonly routes: readonly {
    readonly route: string;
    readonly flowId: string;
    readonly orgId: string;
    readonly variables: unknown;
    /** After a replay: attempts numbered below this belong to the runs before it and are not counted. */
    readonly fromAttempt?: number;
  }[];
  readonly answer: StoredAnswer | null;
  readonly attempts: readonly Attempt[];
  /** When the next attempt may start (queued with a retry pending). */
  readonly nextAttemptAt: number | null;
  /** Who holds a running delivery, and until when (a crashed holder's lease expires). */
  readonly lease: { readonly owner: string; readonly until: number } | null;
  /**
   * Why the delivery did not succeed (the last failed attempt, or the refusal of a request that
   * never ran: its 4xx code and message); null when nothing failed, or after a success.
   */
  readonly lastError: { readonly code: string; readonly message: string } | null;
  /** The late answer promised to the sender, and what became of it; null = none. */
  readonly lateAnswer?: LateAnswer | null;
  /** Computed when it was received; null for deliveries stored before explanations were kept. */
  readonly explanation?: RoutingExplanation | null;
  /**
   * The W3C traceparent of the span that received it (or the sender's, tracing off): the worker's
   * attempts, in any process and however much later, join that trace. Absent when there was none.
   */
  readonly traceContext?: string | null;
}

/**
 * A delivery as the worker claims it: what a run needs, without the request (its headers and
 * body), the answer or the explanation, which a run never reads (issue 15: reading and parsing
 * them was ~3% of an async delivery's instructions). What needs the rest (a late answer needs
 * the body) reads the delivery with `get`.
 */
export type ClaimedDelivery = Omit<DeliveryRecord, 'request' | 'answer' | 'explanation'>;

/**
 * A sync delivery as the request that received it runs it: the record without the stored request
 * and the routing explanation, which nothing reads while the flow runs (issue 15: held by the
 * run, they outlived the collector's young generation with every sync request).
 */
export type RunningDelivery = Omit<DeliveryRecord, 'request' | 'explanation'>;

export type NewDelivery = Omit<
  DeliveryRecord,
  'attempts' | 'updatedAt' | 'lease' | 'lastError' | 'answer' | 'nextAttemptAt'
> & {
  readonly lease?: DeliveryRecord['lease'];
  readonly nextAttemptAt?: number | null;
  /** The answer, when it is known before anything runs (async, ignored, refused): same write. */
  readonly answer?: StoredAnswer | null;
  /** A request refused on receipt (400/415/422): the reason, in the same write. */
  readonly lastError?: DeliveryRecord['lastError'];
};

export type DeliveryPatch = Partial<
  Pick<
    DeliveryRecord,
    | 'state'
    | 'answer'
    | 'nextAttemptAt'
    | 'lease'
    | 'lastError'
    | 'routes'
    | 'mappingVersion'
    | 'lateAnswer'
  >
>;

export interface UpdateOptions {
  /** Attempts to append (numbered by the store) in the same atomic write as the patch. */
  readonly attempts?: readonly Omit<Attempt, 'number'>[];
  /**
   * Apply the patch only while this owner holds the delivery (state running, lease theirs). A
   * holder whose lease expired mid-call and was taken over must not overwrite the new holder's
   * state. The attempts are recorded either way: they happened.
   */
  readonly owner?: string;
}

export interface UpdateResult {
  /** False when `owner` was given and no longer held the delivery: the patch was not applied. */
  readonly applied: boolean;
  /** The appended attempts, numbered. */
  readonly attempts: readonly Attempt[];
}

export interface ClaimRequest {
  readonly owner: string;
  readonly until: number;
  /** The state the caller read; the claim fails if it changed since (a worker took it). */
  readonly fromState: DeliveryState;
  /** How many attempts the caller read; the claim fails if one was recorded since. */
  readonly attempts?: number;
  /** Other fields to set with the claim (a replay's new routes and mapping version). */
  readonly patch?: Pick<DeliveryPatch, 'routes' | 'mappingVersion'>;
}

export interface DeliveryFilter {
  readonly source?: string;
  readonly state?: DeliveryState;
  readonly route?: string;
  /** Deliveries that chose a route running this flow. */
  readonly flowId?: string;
  /** receivedAt >= since (ms). */
  readonly since?: number;
  /** receivedAt < until (ms). */
  readonly until?: number;
  /**
   * A delivery id: flowhook's whole id or its first or last 8 or more characters, or the provider's
   * delivery id (the idempotency key).
   */
  readonly search?: string;
  readonly limit: number;
  /** Opaque, from a previous page's nextCursor. */
  readonly cursor?: string;
}

export interface StoreStatus {
  readonly engine: 'sqlite' | 'postgres';
  /** The file, or the database URL without its password. */
  readonly location: string;
  /** Migrations applied. */
  readonly schemaVersion: number;
}

/**
 * The store reached its operator's size cap (STORE_MAX_SIZE): a new delivery is refused before
 * it is accepted (503 store_unavailable); deliveries already accepted still record their
 * attempts and answers (issue 9, item 4).
 */
export class StoreFullError extends Error {
  constructor(readonly maxBytes: number) {
    super(`the delivery store is full (STORE_MAX_SIZE, ${maxBytes} bytes)`);
    this.name = 'StoreFullError';
  }
}

export type CreateResult =
  | { readonly created: true; readonly record: DeliveryRecord }
  /** A delivery with the same (source, idempotencyKey) was received within the window. */
  | { readonly created: false; readonly existing: DeliveryRecord };

/**
 * Every method is asynchronous and every write is one atomic operation with its condition inside
 * it (no transaction spans calls), so a networked store (PostgreSQL: one statement each) can
 * implement it as well as the embedded SQLite one. A write's promise resolves once it is durable.
 * A store that cannot be reached rejects with StoreUnavailableError (answered 503, not 500).
 */
export interface DeliveryStore {
  /**
   * Stores a new delivery, durably, before anything is answered. When `idempotencyKey` is set and
   * a delivery of the same source with that key was received within `windowMs`, nothing is
   * stored and that delivery is returned instead. Atomic: of two concurrent calls with one key,
   * exactly one creates. Rejects with StoreFullError, storing nothing, when the store has a size
   * cap and this delivery would pass it (a repeat is still answered: it stores nothing new).
   */
  create(delivery: NewDelivery, windowMs: number): Promise<CreateResult>;
  /**
   * Changes state and the other mutable fields, and appends attempts, in one atomic write.
   * Rejects for an unknown id.
   */
  update(id: string, patch: DeliveryPatch, options?: UpdateOptions): Promise<UpdateResult>;
  get(id: string): Promise<DeliveryRecord | undefined>;
  /** Newest first. */
  list(filter: DeliveryFilter): Promise<{ items: DeliveryRecord[]; nextCursor: string | null }>;
  /**
   * Takes up to `limit` deliveries that are due: queued with nextAttemptAt <= now (or null), and
   * running ones whose lease expired (their holder crashed). Sets them running under `owner`
   * until now + leaseMs. Atomic: two workers never claim the same delivery. Each comes with its
   * attempts, without its request, answer and explanation (ClaimedDelivery).
   */
  claimDue(now: number, limit: number, owner: string, leaseMs: number): Promise<ClaimedDelivery[]>;
  /**
   * Takes one delivery (a replay): sets it running under `owner` if it is still in `fromState`,
   * not running, and (when `attempts` is given) has that many attempts. 'claimed', 'changed' (someone else moved it on) or 'missing'.
   */
  claim(id: string, request: ClaimRequest): Promise<'claimed' | 'changed' | 'missing'>;
  /** Extends a held lease (a long execution); false when the lease was lost. */
  renewLease(id: string, owner: string, until: number): Promise<boolean>;
  /** Deletes deliveries received before `before` that are in a final state; returns how many. */
  prune(before: number, limit: number): Promise<number>;
  /** Counts by state, for /readyz and metrics. */
  counts(): Promise<Record<DeliveryState, number>>;
  /**
   * When the longest-waiting delivery that is due and unclaimed became due (ms): the oldest
   * queued one whose time has come, or running one whose lease expired; null when none is due.
   * The backlog age in /metrics: one indexed row, whatever the queue's length.
   */
  oldestDueAt(now: number): Promise<number | null>;
  /** What /readyz and the start-up line say about the store (never a password). */
  status(): Promise<StoreStatus>;
  /**
   * Calls `wake` when a delivery due now was queued by any process sharing the store (PostgreSQL:
   * LISTEN/NOTIFY); returns an unsubscribe. A store that cannot tell (SQLite) leaves it out: the
   * worker polls.
   */
  watchQueued?(wake: () => void): () => void;
  /** Finishes pending writes, then closes. */
  close(): Promise<void>;
}
