export interface ReplayCache {
  /**
   * Records `token` as seen with a body whose digest is `digest`, until `expiresAt` (ms). False
   * when the token was already seen with another body: a forgery reusing a captured signature.
   */
  admit(token: string, digest: string, now: number, expiresAt: number): boolean;
  readonly size: number;
}

/**
 * An in-memory, per-source, bounded memory of signature tokens (Mailgun's advice: "cache the
 * token value locally and not honor any subsequent request with the same token"). Entries leave
 * when their timestamp can no longer pass the replay window, or, past `max`, oldest first. It is
 * per process: another instance, or this one after a restart, has not seen the token.
 * https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks
 */
export function createReplayCache(max: number): ReplayCache {
  const seen = new Map<string, { digest: string; expiresAt: number }>();
  const evict = (now: number) => {
    // Insertion order is close to expiry order; stop at the first live entry rather than scan all.
    for (const [token, entry] of seen) {
      if (entry.expiresAt > now && seen.size <= max) break;
      seen.delete(token);
    }
  };
  return {
    admit(token, digest, now, expiresAt) {
      evict(now);
      const known = seen.get(token);
      if (known !== undefined) return known.digest === digest;
      seen.set(token, { digest, expiresAt });
      evict(now);
      return true;
    },
    get size() {
      return seen.size;
    },
  };
}
