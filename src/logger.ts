import { context, isSpanContextValid, trace } from '@opentelemetry/api';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. The request pipeline never logs
 * headers or secrets on purpose; this is the net under it.
 */
export const REDACT_PATHS = [
  // Exact paths only: pino's wildcard redaction costs a few % of a request's CPU, and the
  // request line is built from ids and names, never headers, bodies or config.
  'secret',
  'secrets',
  'token',
  'flowApiToken',
  'authorization',
  'headers.authorization',
  'headers.cookie',
  'config.flowApiToken',
  'err.config.headers.Authorization',
  'err.config.headers.authorization',
  'err.request._header',
];

/**
 * JSON lines on stdout (or `destination`), with secrets redacted; `pretty` (LOG_FORMAT=pretty)
 * prints them for a person at a terminal through pino-pretty, in a worker thread. Every line
 * written inside a traced delivery carries its trace_id and span_id.
 */
export function createLogger(
  level: string,
  destination?: pino.DestinationStream,
  format: 'json' | 'pretty' = 'json',
): Logger {
  return pino(
    {
      level,
      base: { service: 'flowhook' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      mixin: traceIds,
    },
    destination ??
      (format === 'pretty'
        ? pino.transport({ target: 'pino-pretty', options: { translateTime: 'SYS:standard' } })
        : pino.destination({ sync: false })),
  );
}

/**
 * The active span's ids (W3C hex), so a log line and its trace can be found from each other.
 * Tracing off, there is never an active span: one lookup, nothing added. A new object each time:
 * pino merges the line's fields into it.
 */
function traceIds(): object {
  const span = trace.getSpan(context.active());
  if (span === undefined) return {};
  const ids = span.spanContext();
  return isSpanContextValid(ids) ? { trace_id: ids.traceId, span_id: ids.spanId } : {};
}
