import { VerifySpecError } from './types';

/** The default replay window of Stripe, Slack, Standard Webhooks, HubSpot and Webflow: 5 minutes. */
export const DEFAULT_TOLERANCE = 300;

/**
 * Replay check on a timestamp (ms since the epoch) against the injected clock (ms).
 * Both directions, as the Standard Webhooks libraries and stripe-dotnet do; stripe-node, bolt-js,
 * HubSpot's and Paddle's SDKs only reject old ones, which lets a leaked future-dated request be
 * replayed for longer. Returns the failure reason, or null when the timestamp is inside the
 * window (or the check is off).
 */
export function checkTimestamp(ms: number, now: number, tolerance: number): string | null {
  if (tolerance === 0) return null;
  const skewMs = now - ms;
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
