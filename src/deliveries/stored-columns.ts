import type {
  Attempt,
  ClaimedDelivery,
  DeliveryPatch,
  DeliveryRecord,
  DeliveryState,
} from './types';

// How a delivery and its attempts are laid out in the columns both stores share, and back. The
// stores differ only in how a boolean comes back (SQLite: 0 or 1; PostgreSQL: a boolean) and in
// how the attempts are read (rows of their own; one JSON array per delivery).

export interface StoredDelivery {
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
  body_truncated: boolean | 0 | 1;
  routes: string;
  answer: string | null;
  next_attempt_at: number | null;
  lease_owner: string | null;
  lease_until: number | null;
  last_error: string | null;
  late_answer: string | null;
  explanation: string | null;
  trace_context: string | null;
}

export interface StoredAttempt {
  number: number;
  started_at: number;
  duration_ms: number;
  route: string;
  flow_id: string;
  outcome: 'succeeded' | 'failed';
  http_status: number | null;
  session_id: string | null;
  error: string | null;
  draft: boolean | 0 | 1;
}

/** The columns a patch sets, encoded; a key left undefined is not changed, null clears. */
export function columnsOf(patch: DeliveryPatch): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  if (patch.state !== undefined) values.state = patch.state;
  if (patch.answer !== undefined) values.answer = jsonOrNull(patch.answer);
  if (patch.nextAttemptAt !== undefined) values.next_attempt_at = patch.nextAttemptAt;
  if (patch.lease !== undefined) {
    values.lease_owner = patch.lease?.owner ?? null;
    values.lease_until = patch.lease?.until ?? null;
  }
  if (patch.lastError !== undefined) values.last_error = jsonOrNull(patch.lastError);
  if (patch.routes !== undefined) values.routes = JSON.stringify(patch.routes);
  if (patch.mappingVersion !== undefined) values.mapping_version = patch.mappingVersion;
  if (patch.lateAnswer !== undefined) values.late_answer = jsonOrNull(patch.lateAnswer);
  return values;
}

/**
 * The columns a claim reads (ClaimedDelivery): all but the request's, the answer and the
 * explanation. In this order in SQLite's raw rows.
 */
export const CLAIMED_COLUMN_LIST = [
  'id',
  'source',
  'idempotency_key',
  'mode',
  'state',
  'received_at',
  'updated_at',
  'mapping_version',
  'routes',
  'next_attempt_at',
  'lease_owner',
  'lease_until',
  'last_error',
  'late_answer',
  'trace_context',
] as const satisfies readonly (keyof StoredDelivery)[];

/** Every column of a delivery: the claimed ones, then the request's, the answer, the explanation. */
export const DELIVERY_COLUMN_LIST = [
  ...CLAIMED_COLUMN_LIST,
  'method',
  'url',
  'headers',
  'body',
  'body_bytes',
  'body_truncated',
  'answer',
  'explanation',
] as const satisfies readonly (keyof StoredDelivery)[];

/** Compiles only when `Missing` is never: a column list that leaves a column out does not. */
export type Complete<Missing extends never> = Missing;
export type DeliveryColumnsComplete = Complete<
  Exclude<keyof StoredDelivery, (typeof DELIVERY_COLUMN_LIST)[number]>
>;

export type StoredClaimed = Pick<StoredDelivery, (typeof CLAIMED_COLUMN_LIST)[number]>;

export function claimedFromRow(row: StoredClaimed, attempts: Attempt[]): ClaimedDelivery {
  return {
    id: row.id,
    source: row.source,
    idempotencyKey: row.idempotency_key,
    mode: row.mode,
    state: row.state,
    receivedAt: row.received_at,
    updatedAt: row.updated_at,
    mappingVersion: row.mapping_version,
    routes: JSON.parse(row.routes) as DeliveryRecord['routes'],
    attempts,
    nextAttemptAt: row.next_attempt_at,
    lease:
      row.lease_owner !== null && row.lease_until !== null
        ? { owner: row.lease_owner, until: row.lease_until }
        : null,
    lastError:
      row.last_error === null ? null : (JSON.parse(row.last_error) as DeliveryRecord['lastError']),
    lateAnswer:
      row.late_answer === null
        ? null
        : (JSON.parse(row.late_answer) as DeliveryRecord['lateAnswer']),
    // Absent (not null) when none was stored, so records from before it read as they did.
    ...(row.trace_context === null ? {} : { traceContext: row.trace_context }),
  };
}

export function recordFromRow(row: StoredDelivery, attempts: Attempt[]): DeliveryRecord {
  return {
    ...claimedFromRow(row, attempts),
    request: {
      method: row.method,
      url: row.url,
      headers: JSON.parse(row.headers) as Record<string, string>,
      bodyBase64: row.body.toString('base64'),
      bodyBytes: row.body_bytes,
      bodyTruncated: Boolean(row.body_truncated),
    },
    answer: row.answer === null ? null : (JSON.parse(row.answer) as DeliveryRecord['answer']),
    ...(row.explanation === null
      ? {}
      : { explanation: JSON.parse(row.explanation) as DeliveryRecord['explanation'] }),
  };
}

export function attemptFromRow(row: StoredAttempt): Attempt {
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
    ...(row.draft ? { draft: true } : {}),
  };
}

export function jsonOrNull(value: unknown): string | null {
  return value === null ? null : JSON.stringify(value);
}
