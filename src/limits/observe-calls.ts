import { FlowhookError } from '../errors';
import type { FlowClient } from '../flows/create-flow-client';
import { retryAfterOf } from '../deliveries/retry-policy';
import type { FlowLimiter } from './create-flow-limiter';
import type { CallOutcome } from './types';

/**
 * The flow client, reporting every call's outcome to the limiter: 429s throttle the flow (and its
 * org), failures count towards its circuit, and any answer from the platform that is not a
 * failure counts as the platform being up (a 400 is the flow refusing the input, not an outage).
 */
export function observeCalls(
  client: FlowClient,
  limiter: FlowLimiter,
  now: () => number = Date.now,
): FlowClient {
  return {
    async execute(request) {
      const started = now();
      try {
        const result = await client.execute(request);
        await limiter.observe(request.orgId, request.flowId, {
          kind: 'succeeded',
          durationMs: now() - started,
        });
        return result;
      } catch (error) {
        await limiter.observe(request.orgId, request.flowId, {
          ...outcomeOf(error),
          durationMs: now() - started,
        });
        throw error;
      }
    },
    close: () => client.close(),
  };
}

function outcomeOf(error: unknown): Pick<CallOutcome, 'kind' | 'retryAfterMs'> {
  if (!(error instanceof FlowhookError)) return { kind: 'failed' };
  if (error.code === 'upstream_unreachable' || error.code === 'upstream_timeout')
    return { kind: 'failed' };
  const status = (error.details.upstream as { status?: number } | undefined)?.status ?? 0;
  if (status === 429) {
    const retryAfterMs = retryAfterOf(error);
    return { kind: 'throttled', ...(retryAfterMs === undefined ? {} : { retryAfterMs }) };
  }
  return { kind: status >= 500 ? 'failed' : 'succeeded' };
}
