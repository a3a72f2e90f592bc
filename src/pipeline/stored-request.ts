import type { StoredRequest } from '../deliveries/types';
import type { HeaderMap } from '../verify/types';

/** Header and query names whose values are credentials: never stored. */
const SECRET_NAME = /authorization|cookie|signature|token|secret|api[-_]?key|hmac|password|auth/i;

/** Names that match SECRET_NAME but hold an event id (kept: it is the idempotency key anyway). */
const NOT_SECRET = new Set(['i-twilio-idempotency-token']);

/**
 * The request as it is kept with its delivery: exact body bytes (for replay), headers and query
 * with every credential-looking value — and any value equal to one of the source's secrets —
 * replaced by "[redacted]".
 */
export function toStoredRequest(
  request: { method: string; path: string; headers: HeaderMap; rawBody: Buffer },
  secrets: readonly string[],
  /** Keep at most this many bytes of the body (a refused request: issue 9, item 4). */
  bodyCap = Infinity,
): StoredRequest {
  // A value that is a secret, or holds one long enough not to match by chance (a one-letter
  // secret must not redact every header with that letter in it).
  const isSecret = (name: string, value: string) =>
    (SECRET_NAME.test(name) && !NOT_SECRET.has(name.toLowerCase())) ||
    secrets.some((secret) => value === secret || (secret.length >= 8 && value.includes(secret)));
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = isSecret(name, value) ? '[redacted]' : value;
  }
  const [pathname, query] = splitQuery(request.path);
  let url = pathname;
  if (query !== undefined) {
    const params = new URLSearchParams(query);
    for (const [name, value] of [...params]) {
      if (isSecret(name, value)) params.set(name, '[redacted]');
    }
    url = `${pathname}?${params.toString()}`;
  }
  return {
    method: request.method,
    url,
    headers,
    bodyBase64: request.rawBody.subarray(0, bodyCap).toString('base64'),
    bodyBytes: request.rawBody.length,
    bodyTruncated: request.rawBody.length > bodyCap,
  };
}

function splitQuery(path: string): [string, string | undefined] {
  const at = path.indexOf('?');
  return at < 0 ? [path, undefined] : [path.slice(0, at), path.slice(at + 1)];
}
