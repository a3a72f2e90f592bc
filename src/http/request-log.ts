import type { Logger } from '../logger';
import type { DeliveryTrace } from '../pipeline/handle-delivery';

/**
 * The one line logged per hook request: what came in, where it went, how it ended. Only ids,
 * names and the reason; never headers, bodies or secrets.
 */
export function logHookRequest(
  logger: Logger,
  trace: DeliveryTrace,
  status: number,
  startedAt: number,
  failure?: { code: string; message: string },
): void {
  const line = {
    ...trace,
    status,
    durationMs: Math.round((performance.now() - startedAt) * 100) / 100,
    ...(failure ? { code: failure.code, reason: failure.message } : {}),
  };
  // 503 is a source waiting for configuration: worth a warning per request, not an error page.
  if (status >= 500 && status !== 503) logger.error(line, 'hook request failed');
  else if (status >= 400) logger.warn(line, 'hook request refused');
  else logger.info(line, 'hook request handled');
}
