import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { rateLimit } from 'express-rate-limit';
import { body } from 'express-validator';
import { FlowhookError } from '../errors';
import type { Logger } from '../logger';
import { rejectInvalid } from './reject-invalid';

export const SESSION_COOKIE = 'flowhook_session';
/** How long a console sign-in lasts. */
export const SESSION_TTL_MS = 12 * 3_600_000;
/** Failed sign-ins allowed per address in SIGN_IN_WINDOW_MS before 429. */
export const SIGN_IN_FAILURES = 10;
export const SIGN_IN_WINDOW_MS = 15 * 60_000;

export interface ConsoleSession {
  /** POST/GET/DELETE /session, mounted under /api before the admin guard. */
  readonly router: Router;
  /** True when the request carries a valid, unexpired session cookie. */
  readonly signedIn: (req: Request) => boolean;
}

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest();

/**
 * The console's sign-in: ADMIN_TOKEN is exchanged for a session cookie, so the browser never keeps
 * the token. The cookie is `<expiry ms>.<nonce>.<HMAC>` keyed by a key derived from ADMIN_TOKEN:
 * every instance with the same token accepts it, and changing the token signs everyone out. It
 * is HttpOnly, SameSite=Strict, Secure when the request came over HTTPS, and expires on its own.
 * Failed sign-ins are counted per address (express-rate-limit): past SIGN_IN_FAILURES within
 * SIGN_IN_WINDOW_MS the answer is 429 with Retry-After, whatever the token.
 */
export function consoleSession(
  token: string,
  logger: Logger,
  now: () => number = Date.now,
): ConsoleSession {
  const expected = sha256(token);
  const key = createHmac('sha256', token).update('flowhook console session v1').digest();
  const mac = (payload: string) => createHmac('sha256', key).update(payload).digest('base64url');

  const issue = (): string => {
    const payload = `${now() + SESSION_TTL_MS}.${randomBytes(12).toString('base64url')}`;
    return `${payload}.${mac(payload)}`;
  };

  const signedIn = (req: Request): boolean => {
    const value = readCookie(req.get('cookie'), SESSION_COOKIE);
    if (value === undefined) return false;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return false;
    const payload = value.slice(0, dot);
    const given = Buffer.from(value.slice(dot + 1));
    const wanted = Buffer.from(mac(payload));
    if (given.length !== wanted.length || !timingSafeEqual(given, wanted)) return false;
    const expires = Number(payload.split('.')[0]);
    return Number.isFinite(expires) && expires > now();
  };

  const cookieOptions = (req: Request) => ({
    httpOnly: true,
    sameSite: 'strict' as const,
    secure: req.secure,
    path: '/',
  });

  const router = express.Router();
  router.use('/session', (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  const limiter = rateLimit({
    windowMs: SIGN_IN_WINDOW_MS,
    limit: SIGN_IN_FAILURES,
    // Only failures count: a user who signs in often is never locked out.
    skipSuccessfulRequests: true,
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    // TRUST_PROXY=true is documented as "only behind a proxy that overwrites X-Forwarded-For";
    // there the address is the proxy's view of the client, which is what should be limited.
    validate: { trustProxy: false },
    handler: (req, res, next) => {
      res.setHeader('Retry-After', String(Math.ceil(SIGN_IN_WINDOW_MS / 1000)));
      logger.warn({ address: req.ip }, 'console sign-in refused: too many failed attempts');
      next(
        new FlowhookError(
          'too_many_sign_ins',
          'too many failed sign-ins from this address; try again later',
        ),
      );
    },
  });

  router.post(
    '/session',
    limiter,
    requireSameOrigin,
    express.json({ limit: '4kb' }),
    body('token').isString().withMessage('must be the admin token').isLength({ max: 1024 }),
    rejectInvalid,
    (req: Request, res: Response) => {
      const given = sha256(String((req.body as { token: string }).token));
      if (!timingSafeEqual(given, expected)) {
        logger.warn({ address: req.ip }, 'console sign-in refused: the token is not valid');
        throw new FlowhookError('unauthorized', 'the admin token is invalid');
      }
      res.cookie(SESSION_COOKIE, issue(), { ...cookieOptions(req), maxAge: SESSION_TTL_MS });
      logger.info({ address: req.ip }, 'console sign-in');
      res.json({ signedIn: true, expiresInMs: SESSION_TTL_MS });
    },
  );

  // 200 either way: the page asks before it knows, and a 401 would read as an error to it.
  router.get('/session', (req: Request, res: Response) => {
    res.json({ signedIn: signedIn(req) });
  });

  router.delete('/session', requireSameOrigin, (req: Request, res: Response) => {
    res.clearCookie(SESSION_COOKIE, cookieOptions(req));
    res.status(204).end();
  });

  return { router, signedIn };
}

/** One cookie's value from a Cookie header (names are case-sensitive; the first one wins). */
function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A state-changing call made with the session cookie must come from a page of this flowhook:
 * `Origin` must be present and name this host (SameSite=Strict already keeps other sites' requests
 * cookieless; this is the second lock). Script clients with a Bearer token are not browsers and
 * are not asked.
 */
export function requireSameOrigin(req: Request, _res: Response, next: NextFunction): void {
  const origin = req.get('origin');
  const own = `${req.protocol}://${req.get('host') ?? ''}`;
  if (origin !== undefined && origin === own) {
    next();
    return;
  }
  next(
    new FlowhookError(
      'forbidden_origin',
      origin === undefined
        ? 'this call needs an Origin header naming this flowhook'
        : `Origin ${origin.slice(0, 200)} is not this flowhook (${own})`,
    ),
  );
}
