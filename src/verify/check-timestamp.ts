import { VerifySpecError } from './types';

/** The default replay window of Stripe, Slack and Standard Webhooks: 5 minutes. */
export const DEFAULT_TOLERANCE = 300;

const SECONDS = /^\d{1,12}$/;

/** True when a received timestamp is a plain count of seconds (what every supported scheme sends). */
export function isTimestamp(raw: string): boolean {
  return SECONDS.test(raw);
}

/**
 * Replay check on a timestamp in seconds since the epoch, against the injected clock (ms).
 * Both directions, as the Standard Webhooks libraries and stripe-dotnet do; stripe-node and
 * bolt-js only reject old ones, which lets a leaked future-dated request be replayed for longer.
 * Returns the failure reason, or null when the timestamp is inside the window (or the check is off).
 */
export function checkTimestamp(seconds: number, now: number, tolerance: number): string | null {
  if (tolerance === 0) return null;
  const skewMs = now - seconds * 1000;
  if (Math.abs(skewMs) <= tolerance * 1000) return null;
  const side = skewMs > 0 ? 'too old' : 'too far in the future';
  return `timestamp outside the ${tolerance} s tolerance (${side})`;
}

/** The spec's `tolerance` if given (validated at load), otherwise the preset's default. */
export function resolveTolerance(tolerance: number | undefined, fallback: number): number {
  if (tolerance === undefined) return fallback;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) {
    throw new VerifySpecError('tolerance must be a number of seconds >= 0');
  }
  return tolerance;
}
