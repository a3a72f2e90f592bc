import { StoreUnavailableError } from '../store-unavailable-error';

/** Node's socket errors: the database cannot be reached or the connection broke. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/**
 * SQLSTATE classes that say "not now" rather than "not this": 08 connection exception,
 * 53 insufficient resources (too many connections), 57 operator intervention (shutdown,
 * pg_terminate_backend, cannot connect now, statement timeout).
 */
const UNAVAILABLE_CLASSES = ['08', '53', '57'];
/** 55000: the database "is not currently accepting connections" (ALLOW_CONNECTIONS false). */
const UNAVAILABLE_CODES = new Set(['55000']);

/** node-pg's own messages for a connection that is gone or never came. */
const CLIENT_MESSAGES =
  /Connection terminated|timeout exceeded when trying to connect|not queryable|Cannot use a pool after calling end/i;

/**
 * The store's errors as callers should see them: an unreachable or lost database becomes
 * StoreUnavailableError (503, retry later); anything else (a constraint, a bug) is returned as
 * it is. Messages from pg never carry the connection string's password.
 */
export function unavailableOrSame(error: unknown): unknown {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown };
  const unavailable =
    (typeof code === 'string' &&
      (NETWORK_CODES.has(code) ||
        UNAVAILABLE_CODES.has(code) ||
        (code.length === 5 && UNAVAILABLE_CLASSES.includes(code.slice(0, 2))))) ||
    (typeof message === 'string' && CLIENT_MESSAGES.test(message));
  if (!unavailable || error instanceof StoreUnavailableError) return error;
  return new StoreUnavailableError(
    `the delivery database is unavailable: ${typeof message === 'string' ? message : String(code)}`,
    error,
  );
}
