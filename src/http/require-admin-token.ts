import type { NextFunction, Request, Response } from 'express';
import { FlowhookError } from '../errors';
import { bearerToken } from './bearer-token';
import { requireSameOrigin } from './console-session';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Guards the admin API: `Authorization: Bearer <ADMIN_TOKEN>`, or the console's session cookie
 * (`signedIn`), or 401 with `WWW-Authenticate`. A state-changing call made with the cookie must
 * also carry this flowhook's `Origin` (403 forbidden_origin otherwise).
 * The token is compared in constant time (bearerToken); the answer never says which part was wrong.
 */
export function requireAdminToken(
  token: string,
  signedIn: (req: Request) => boolean = () => false,
) {
  const check = bearerToken(token);
  return (req: Request, res: Response, next: NextFunction): void => {
    const given = check(req);
    if (given === 'valid') {
      next();
      return;
    }
    if (given === 'absent' && signedIn(req)) {
      if (SAFE_METHODS.has(req.method)) next();
      else requireSameOrigin(req, res, next);
      return;
    }
    res.setHeader('WWW-Authenticate', 'Bearer realm="flowhook"');
    next(
      new FlowhookError(
        'unauthorized',
        given === 'absent'
          ? 'the admin API needs Authorization: Bearer <ADMIN_TOKEN>'
          : 'the admin token is not valid',
      ),
    );
  };
}
