import type { VerificationFailure } from './metrics';

/**
 * The fixed reason a refused signature is counted under, read from the verifier's message (the
 * presets share a handful of phrasings: see test/observability/verification-failure.test.ts).
 * Anything not recognised counts as a mismatch: the metric's label set never grows.
 */
export function verificationFailure(reason: string): VerificationFailure {
  if (/\breplay\b|already used/i.test(reason)) return 'replay';
  if (/^timestamp outside/i.test(reason)) return 'stale';
  if (/^(missing|no )|holds no signature|has no /i.test(reason)) return 'missing';
  if (/malformed|unsupported|is not basic/i.test(reason)) return 'malformed';
  return 'mismatch';
}
