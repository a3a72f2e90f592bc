import { FlowhookError } from '../errors';
import type { ExecuteOutcome } from './metrics';

/** One execute call's outcome for metrics and spans: the kind of failure, never its text. */
export function executeOutcome(error: unknown): ExecuteOutcome {
  if (error === undefined) return 'ok';
  if (error instanceof FlowhookError) {
    if (error.code === 'upstream_timeout') return 'timeout';
    const status = (error.details.upstream as { status?: unknown } | undefined)?.status;
    // A 2xx without a sessionId is the platform misbehaving, like a 5xx.
    if (typeof status === 'number') return status >= 400 && status < 500 ? 'http_4xx' : 'http_5xx';
  }
  return 'network';
}
