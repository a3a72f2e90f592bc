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

/** JSON lines on stdout (or `destination`), with secrets redacted. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'flowhook' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination ?? pino.destination({ sync: false }),
  );
}
