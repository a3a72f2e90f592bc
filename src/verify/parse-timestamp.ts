/** How a sender writes its timestamp (docs/architecture.md#provider-differences-that-bite, 4). */
export type TimestampUnit = 's' | 'ms' | 'iso';

export const TIMESTAMP_UNITS: readonly TimestampUnit[] = ['s', 'ms', 'iso'];

/** Said in a reason when a timestamp is malformed. */
export const UNIT_NAMES: Readonly<Record<TimestampUnit, string>> = {
  s: 'seconds since the epoch',
  ms: 'milliseconds since the epoch',
  iso: 'an ISO 8601 date',
};

const DIGITS: Readonly<Record<'s' | 'ms', RegExp>> = { s: /^\d{1,12}$/, ms: /^\d{1,15}$/ };
// Zendesk sends "2021-09-21T19:04:56Z"; a zone is required so the instant is not the server's guess.
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

/** Date.parse rolls "2021-02-30" over to March; a real sender never writes that. */
function isCalendarDate(iso: string): boolean {
  const [y = 0, m = 0, d = 0] = iso.slice(0, 10).split('-').map(Number);
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/**
 * A received timestamp (a header value, or a JSON value from the body) in milliseconds since the
 * epoch, or null when it is not written the way `unit` says. Strict on purpose: "1e9", "-1",
 * "12.5" or a date without a zone are refused rather than guessed at.
 */
export function parseTimestamp(raw: unknown, unit: TimestampUnit): number | null {
  if (unit === 'iso') {
    if (typeof raw !== 'string' || !ISO.test(raw)) return null;
    const ms = Date.parse(raw);
    return Number.isFinite(ms) && isCalendarDate(raw) ? ms : null;
  }
  const text = typeof raw === 'number' && Number.isSafeInteger(raw) ? String(raw) : raw;
  if (typeof text !== 'string' || !DIGITS[unit].test(text)) return null;
  return unit === 's' ? Number(text) * 1000 : Number(text);
}
