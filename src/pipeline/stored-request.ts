import type { StoredRequest } from '../deliveries/types';
import { MIN_EMBEDDED_SECRET, REDACTED } from '../redact/create-secret-redactor';
import type { HeaderMap } from '../verify/types';

/**
 * Header and query names whose values are credentials: never stored. Matched anywhere in the
 * name (x-hub-signature-256, x-amz-security-token, x-private-key, db_password)…
 */
const SECRET_NAME =
  /authori[sz]ation|cookie|signature|token|secret|api[-_]?key|access[-_]?key|private[-_]?key|hmac|passw|passphrase|pwd|auth|credential|session|jwt|bearer/i;

/** …or as a whole word of it (?key=, ?sig=, ?code=, x-pass): short words that are too common inside other names. */
const SECRET_WORD = new Set(['key', 'sig', 'code', 'pass', 'pw', 'otp', 'pin', 'sid']);

/** Names that match SECRET_NAME but hold an event id (kept: it is the idempotency key anyway). */
const NOT_SECRET = new Set(['i-twilio-idempotency-token']);

/** Whether a header or query name says its value is a credential. */
export function isSecretName(name: string): boolean {
  const lower = name.toLowerCase();
  if (NOT_SECRET.has(lower)) return false;
  return SECRET_NAME.test(lower) || lower.split(/[^a-z0-9]+/).some((word) => SECRET_WORD.has(word));
}

/**
 * The request as it is kept with its delivery: exact body bytes (for replay), headers and query
 * with every credential-looking value replaced by "[redacted]": by its name, and by value when it
 * is or holds one of the source's secrets. The store the HTTP side writes through
 * (redactingStore) then redacts every other source's secrets and the flow token by value, in
 * their encoded forms too (issue 9, item 6).
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
    isSecretName(name) ||
    secrets.some(
      (secret) =>
        value === secret || (secret.length >= MIN_EMBEDDED_SECRET && value.includes(secret)),
    );
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = isSecret(name, value) ? REDACTED : value;
  }
  const [pathname, query] = splitQuery(request.path);
  let url = pathname;
  if (query !== undefined) {
    const params = new URLSearchParams(query);
    for (const [name, value] of [...params]) {
      if (isSecret(name, value)) params.set(name, REDACTED);
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
