/**
 * One error type for everything the pipeline refuses, and one table that maps each code to its HTTP
 * status. The README's status table and test/http/status-table.test.ts walk this table row by row.
 */
export const ERROR_STATUS = {
  unknown_source: 404,
  not_found: 404,
  /** A path whose percent-encoding does not decode (`/hooks/%ff`): no source can have that name. */
  invalid_path: 400,
  method_not_allowed: 405,
  source_disabled: 503,
  /** Over the source's rate limit for this client address (Retry-After says when to come back). */
  rate_limited: 429,
  invalid_signature: 401,
  body_too_large: 413,
  unsupported_media_type: 415,
  invalid_body: 400,
  missing_variables: 422,
  invalid_variables: 422,
  /** A variable's path matched too much, or the execute body would pass EXECUTE_BODY_LIMIT. */
  variables_too_large: 422,
  upstream_error: 502,
  executions_failed: 502,
  upstream_unreachable: 502,
  upstream_timeout: 504,
  /** The delivery store refused a write (disk full, locked past its timeout): nothing accepted. */
  store_unavailable: 503,
  internal: 500,
  // The admin API (/api/*, behind ADMIN_TOKEN).
  unauthorized: 401,
  invalid_request: 400,
  delivery_not_found: 404,
  delivery_running: 409,
  not_replayable: 409,
  no_route_matched: 422,
  // The console (/console) and the admin endpoints it uses.
  /** A state-changing call with a session cookie whose Origin is not this flowhook. */
  forbidden_origin: 403,
  /** Too many failed sign-ins from one address. */
  too_many_sign_ins: 429,
  /** Saving a mapping needs CONSOLE_EDIT=on. */
  console_edit_off: 403,
  /** A draft mapping that does not load (its problems, with line and column). */
  invalid_mapping: 422,
  /** The mapping file changed on disk since the draft was opened. */
  mapping_changed: 409,
  job_not_found: 404,
  /** Too many live delivery streams open at once. */
  too_many_streams: 503,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export class FlowhookError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Extra fields for the JSON answer (never secrets): `variables`, `upstream`, … */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    code: ErrorCode,
    message: string,
    details: Record<string, unknown> = {},
    /** The underlying error, logged (never sent). */
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'FlowhookError';
    this.code = code;
    this.status = ERROR_STATUS[code];
    this.details = details;
  }
}
