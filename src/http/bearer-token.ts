import { createHash, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

/** `Bearer <token>`: the scheme is case-insensitive (RFC 7235), the token one word (RFC 6750). */
const BEARER = /^Bearer +([^\s]+) *$/i;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/** What a request's Authorization header says about a bearer token. */
export type BearerCheck = 'valid' | 'invalid' | 'absent';

/**
 * Checks `Authorization: Bearer <token>` against one token (ADMIN_TOKEN, METRICS_TOKEN). Both
 * sides are hashed before the constant-time comparison, so neither the token's content nor its
 * length shows in the timing; an absent or malformed header is still compared (against nothing),
 * so it takes as long.
 */
export function bearerToken(token: string): (req: Request) => BearerCheck {
  const expected = sha256(token);
  return (req) => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    const given = sha256(match?.[1] ?? '');
    if (timingSafeEqual(given, expected) && match !== null) return 'valid';
    return match === null ? 'absent' : 'invalid';
  };
}
