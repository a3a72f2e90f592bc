import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response } from 'express';
import { FlowhookError } from '../errors';
import { requireSameOrigin } from './console-session';

/** `Bearer <token>`: the scheme is case-insensitive (RFC 7235), the token one word (RFC 6750). */
const BEARER = /^Bearer +([^\s]+) *$/i;

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards the admin API: `Authorization: Bearer <ADMIN_TOKEN>`, or the console's session cookie
 * (`signedIn`), or 401 with `WWW-Authenticate`. A state-changing call made with the cookie must
 * also carry this flowhook's `Origin` (403 forbidden_origin otherwise).
 * Both sides are hashed before the constant-time comparison, so neither the token's content nor
 * its length shows in the timing; the answer never says which part was wrong.
 */
export function requireAdminToken(
  token: string,
  signedIn: (req: Request) => boolean = () => false,
) {
  const expected = sha256(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const match = BEARER.exec(req.get('authorization') ?? '');
    // An absent or malformed header is still compared (against nothing), so it takes as long.
    const given = sha256(match?.[1] ?? '');
    if (timingSafeEqual(given, expected) && match !== null) {
      next();
      return;
    }
    if (match === null && signedIn(req)) {
      if (SAFE_METHODS.has(req.method)) next();
      else requireSameOrigin(req, res, next);
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="flowhook"');
    next(
      new FlowhookError(
        'unauthorized',
        match === null
          ? 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>'
          : 'the admin token is not valid',
      ),
    );
  };
}
