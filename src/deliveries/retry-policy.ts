import { FlowhookError } from '../errors';

export interface RetryPolicy {
  /** Attempts per delivery before it is dead (the first one included). */
  readonly maxAttempts: number;
  /** Age after which a delivery is dead instead of retried, in ms. */
  readonly maxAgeMs: number;
  /** The first retry waits about this long; each later one twice as long. */
  readonly baseDelayMs: number;
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  // 1 s, 2 s, 4 s … up to 15 min between attempts: 25 attempts keep a delivery going for about
  // four hours (RETRY_MAX_AGE, 24 h, ends it first if the retries are spread further).
  maxAttempts: 25,
  maxAgeMs: 24 * 60 * 60 * 1000,
  baseDelayMs: 1000,
  maxDelayMs: 15 * 60 * 1000,
};

/** The default policy with the configured limits (RETRY_MAX_ATTEMPTS, RETRY_MAX_AGE). */
export function retryPolicyFrom(config: {
  readonly retryMaxAttempts?: number;
  readonly retryMaxAgeMs?: number;
}): RetryPolicy {
  return {
    ...DEFAULT_RETRY_POLICY,
    maxAttempts: config.retryMaxAttempts ?? DEFAULT_RETRY_POLICY.maxAttempts,
    maxAgeMs: config.retryMaxAgeMs ?? DEFAULT_RETRY_POLICY.maxAgeMs,
  };
}

/**
 * The one retry decision (issue 9, item 13), made from what a failed attempt records, so a
 * delivery's stored attempts decide alike in every process and after a restart. Network errors,
 * timeouts, 429 and 5xx may pass: retry. Any other answer (400, 401, 404, a 2xx without a
 * sessionId) will be the same next time, and an error that is not the flow API's (a bug) would
 * fail 25 times alike: fail at once (docs/architecture.md: 4xx is never retried).
 */
export function mayPass(failure: { readonly code: string; readonly httpStatus?: number }): boolean {
  if (failure.code === 'upstream_unreachable' || failure.code === 'upstream_timeout') return true;
  if (failure.code !== 'upstream_error') return false;
  const status = failure.httpStatus ?? 0;
  return status === 429 || status >= 500;
}

/** The flow API's HTTP status carried by an upstream error, when it answered. */
export function upstreamStatus(error: FlowhookError): number | undefined {
  return (error.details.upstream as { status?: number } | undefined)?.status;
}

/** The flow API's Retry-After, when it sent one (ms). */
export function retryAfterOf(error: unknown): number | undefined {
  if (!(error instanceof FlowhookError)) return undefined;
  return (error.details.upstream as { retryAfterMs?: number } | undefined)?.retryAfterMs;
}

/**
 * Delay before attempt `attempt + 1` after `attempt` failed: exponential, the upper half
 * jittered (so a recovering flow API is not hit by every queued delivery at once), never below
 * Retry-After.
 */
export function retryDelay(
  policy: RetryPolicy,
  attempt: number,
  retryAfter: number | undefined,
  random: () => number = Math.random,
): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  const jittered = Math.round(ceiling / 2 + (random() * ceiling) / 2);
  // Retry-After wins even past maxDelayMs: the flow API said when it can take the call.
  return Math.max(Math.min(policy.maxDelayMs, jittered), retryAfter ?? 0);
}
