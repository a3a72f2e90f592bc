import type { Logger } from '../logger';
import type { FlowClient } from './create-flow-client';
import { describeExecute } from './execute-request';

/**
 * Dry-run (FLOW_BASE_URL unset) for queued deliveries: the worker runs them as usual, but each
 * execute call is logged instead of sent, and recorded as a `dry-run` session.
 */
export function createDryRunClient(logger: Logger): FlowClient {
  return {
    async execute(request) {
      logger.info(
        { request: describeExecute(request) },
        'dry-run: the execute call that would have been made',
      );
      return { sessionId: 'dry-run', result: 'dry-run: not executed' };
    },
    close() {},
  };
}
