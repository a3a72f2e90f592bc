import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export type HmacAlgorithm = 'sha1' | 'sha256' | 'sha512';
export type DigestEncoding = 'hex' | 'base64';
/** How a configured secret string becomes HMAC key bytes (docs/architecture.md#provider-differences-that-bite, 1). */
export type SecretFormat = 'utf8' | 'base64' | 'whsec';

export function hmacDigest(
  algorithm: HmacAlgorithm,
  key: Buffer,
  parts: readonly Buffer[],
  encoding: DigestEncoding,
): string {
  const hmac = createHmac(algorithm, key);
  for (const part of parts) hmac.update(part);
  return hmac.digest(encoding);
}

/** Constant-time string compare; the length check first because timingSafeEqual throws on a mismatch. */
export function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

/**
 * Constant-time compare for shared tokens. Hashing both sides first gives equal-length inputs, so
 * neither the comparison time nor an early length exit reveals the configured token's length.
 */
export function tokenEqual(received: string, expected: string): boolean {
  const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();
  return timingSafeEqual(digest(received), digest(expected));
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The HMAC key for a secret, or null when it cannot be decoded.
 * - utf8: the string bytes as they are; Stripe keys with the whole `whsec_…` string
 *   (https://github.com/stripe/stripe-node/blob/663942164d3876f04bb26617b88f498ba785e580/src/Webhooks.ts),
 *   and Zendesk and Square keys look like base64 but are used as text too (docs/architecture.md#provider-differences-that-bite, 1).
 * - base64: the whole string is base64 (a sender that hands out raw key bytes encoded).
 * - whsec: Standard Webhooks, base64-decode what follows `whsec_` (prefix optional, as the JS library)
 *   (https://github.com/standard-webhooks/standard-webhooks/blob/b2fa7b8719fb75d326b591077f5d1b385cfcdfae/spec/standard-webhooks.md).
 */
export function secretKey(secret: string, format: SecretFormat): Buffer | null {
  if (secret === '') return null;
  if (format === 'utf8') return Buffer.from(secret, 'utf8');
  const encoded =
    format === 'whsec' && secret.startsWith('whsec_') ? secret.slice('whsec_'.length) : secret;
  // Buffer.from silently drops bad characters; a typo in a secret must fail at load, not per request.
  if (!BASE64.test(encoded) || encoded.replace(/=+$/, '').length % 4 === 1) return null;
  return Buffer.from(encoded, 'base64');
}
