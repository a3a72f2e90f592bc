import { createHash } from 'node:crypto';
import { checkTimestamp, resolveTolerance } from '../check-timestamp';
import { compileKeys } from '../compile-keys';
import { hmacDigest, safeEqual } from '../hmac-signature';
import { readMailgunSignature } from './mailgun-signature';
import { parseTimestamp } from '../parse-timestamp';
import { createReplayCache } from '../replay-cache';
import type { Verifier, VerifySpec } from '../types';

/** Tokens remembered per source; about 200 bytes each. */
export const MAILGUN_CACHE_SIZE = 10_000;

/**
 * Mailgun: the signature is in the body, hex HMAC-SHA256 of timestamp + token (no separator),
 * keyed with the HTTP webhook signing key. The event itself is NOT signed, so a captured signature
 * block could vouch for any body: each token is remembered with the digest of the body it first
 * came with, and a second body under the same token is refused. The same body again (a re-sent
 * delivery) passes, as a replay inside the window does for every timestamped preset. 300 s either
 * way by default. Delivery id: the body's `event-data.id` (after-verify.ts).
 * https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 */
export function mailgun(spec: VerifySpec): Verifier {
  const keys = compileKeys('utf8', spec.secrets);
  const tolerance = resolveTolerance(spec.tolerance, 300);
  const cache = createReplayCache(MAILGUN_CACHE_SIZE);
  return (req) => {
    const block = readMailgunSignature(req.rawBody);
    if (!block.ok) return { ok: false, reason: block.reason };
    const ms = parseTimestamp(block.timestamp, 's');
    if (ms === null) return { ok: false, reason: 'malformed signature.timestamp in the body' };
    const signed = [Buffer.from(block.timestamp + block.token, 'utf8')];
    const secretIndex = keys.findIndex((key) => {
      const expected = hmacDigest('sha256', key, signed, 'hex');
      return block.signatures.some((candidate) => safeEqual(candidate, expected));
    });
    if (secretIndex < 0) return { ok: false, reason: 'signature does not match' };
    const stale = checkTimestamp(ms, req.now, tolerance);
    if (stale !== null) return { ok: false, reason: stale };
    const digest = createHash('sha256').update(req.rawBody).digest('hex');
    const expiresAt = tolerance === 0 ? Infinity : ms + tolerance * 1000;
    if (!cache.admit(block.token, digest, req.now, expiresAt)) {
      return { ok: false, reason: 'signature token already used with another body (replay)' };
    }
    return { ok: true, secretIndex };
  };
}
