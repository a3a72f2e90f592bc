import { isIPv6 } from 'node:net';
import type { RateLimiterMemory } from 'rate-limiter-flexible';
import { FlowhookError } from '../errors';
import type { MappingSet, RateLimit } from '../mappings/types';
import type { DeliveryTrace } from '../pipeline/handle-delivery';
import { expressify, type HookRequest, type HookResponse } from './dispatch-hooks-first';

type RateLimiterLibrary = typeof import('rate-limiter-flexible');

/**
 * A source's request rate limit per client address (issue 9, item 4), checked before the body is
 * read: a refused sender uploads nothing we keep, and nothing is stored. Over the limit: 429
 * `rate_limited` with Retry-After. The client address is Express's `req.ip`, so behind a load
 * balancer it follows TRUST_PROXY (without it every sender would share the balancer's address).
 * Counters live in this process: with N instances behind a balancer a sender gets up to N times
 * the limit.
 */
export function sourceRateLimit(mappings: () => MappingSet) {
  // rate-limiter-flexible (36 modules, ~2 MB of memory) is loaded for the first source with a
  // limit: most deployments set none.
  let loaded: RateLimiterLibrary | undefined;
  const library = (): RateLimiterLibrary =>
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    (loaded ??= require('rate-limiter-flexible') as RateLimiterLibrary);
  // One limiter per source and limit, kept across reloads while the limit stays the same (a
  // reload must not hand every sender a fresh window).
  const limiters = new Map<string, RateLimiterMemory>();
  const limiterFor = (source: string, limit: RateLimit) => {
    const key = `${source}\n${limit.requests}/${limit.perSeconds}`;
    let limiter = limiters.get(key);
    if (limiter === undefined) {
      for (const old of limiters.keys()) if (old.startsWith(`${source}\n`)) limiters.delete(old);
      limiter = new (library().RateLimiterMemory)({
        points: limit.requests,
        duration: limit.perSeconds,
      });
      limiters.set(key, limiter);
    }
    return limiter;
  };

  /** Undefined when the source has no limit; else settles when allowed, rejects when refused. */
  return (req: HookRequest, res: HookResponse, trace: DeliveryTrace): Promise<void> | undefined => {
    const source = mappings().sources.get(String(req.params.source));
    // Unknown and disabled sources are answered by the pipeline (404, 503) without a body read.
    if (source?.rateLimit === undefined) return undefined;
    trace.source = source.name;
    const limit = source.rateLimit;
    return (
      limiterFor(source.name, limit)
        // Express's req.ip (TRUST_PROXY decides whether X-Forwarded-For counts).
        .consume(clientKey(expressify(req, res).req.ip ?? req.socket.remoteAddress ?? 'unknown'))
        .then(
          () => undefined,
          (refusal: unknown) => {
            if (!(refusal instanceof library().RateLimiterRes)) throw refusal;
            const seconds = Math.max(1, Math.ceil(refusal.msBeforeNext / 1000));
            res.setHeader('Retry-After', String(seconds));
            // The body is not read: closing saves draining it for a sender we refuse anyway.
            res.setHeader('Connection', 'close');
            throw new FlowhookError(
              'rate_limited',
              `too many requests to source "${source.name}" from this address: at most ${limit.requests} per ${limit.perSeconds} s`,
              { retryAfter: seconds },
            );
          },
        )
    );
  };
}

/**
 * IPv4 by address; IPv6 by its /64, the block one subscriber usually gets (counting each address
 * would let one host rotate through 2^64 of them).
 */
function clientKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return mapped[1];
  if (!isIPv6(address)) return address;
  const [head, tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right]
    : left;
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}
