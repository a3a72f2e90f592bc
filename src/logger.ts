import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Paths pino blanks out wherever they appear in a log object. The request pipeline never logs
 * headers or secrets on purpose; this is the net under it.
 */
export const REDACT_PATHS = [
  'secret',
  'secrets',
  'token',
  '*.secret',
  '*.secrets',
  '*.token',
  'flowApiToken',
  '*.flowApiToken',
  'authorization',
  '*.authorization',
  'headers.authorization',
  'headers.cookie',
  '*.headers.authorization',
  '*.headers.cookie',
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
