import { randomUUID } from 'node:crypto';
import { bodyTimestamp } from './read-timestamp';
import { checkTimestamp } from './check-timestamp';
import { compileKeys } from './compile-keys';
import type { HmacScheme } from './hmac-scheme';
import { hmacDigest } from './hmac-signature';
import { UNIT_NAMES, type TimestampUnit } from './parse-timestamp';
import { readHeader } from './read-header';
import type { HeaderMap } from './types';

/** What a request to be signed is made of; `now` and `id` are injected so tests pin them. */
export interface SignInput {
  /** The exact bytes that will be sent. */
  readonly rawBody: Buffer;
  /** Upper case, as sent. */
  readonly method: string;
  /** The full URL the request goes to, as the receiver will see it (scheme, host, path, query). */
  readonly url: string;
  /** Milliseconds since the epoch: the time the signature says it was made. */
  readonly now: number;
  /** The delivery id to send (and sign, where the scheme signs one); else the id header given, else a random UUID. */
  readonly id?: string;
  /** Headers the request carries anyway, any case: Content-Type, and any {header:Name} the scheme signs. */
  readonly headers?: Readonly<Record<string, string>>;
}

/** What the sender would send: headers to add, and the URL (changed when the scheme adds to it). */
export interface SignedRequest {
  /** Header names in the provider's documented spelling. */
  readonly headers: Record<string, string>;
  readonly url: string;
}

/** A request that cannot be signed as asked; the message says what to change. Never holds a secret. */
export class SignError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SignError';
  }
}

/** `now` the way the scheme's sender writes it (Zendesk's ISO dates carry no milliseconds). */
export function formatTimestamp(now: number, unit: TimestampUnit): string {
  if (unit === 'ms') return String(Math.floor(now));
  const seconds = Math.floor(now / 1000);
  return unit === 's'
    ? String(seconds)
    : new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
}

export function lowerCased(headers: Readonly<Record<string, string>> = {}): HeaderMap {
  return Object.fromEntries(Object.entries(headers).map(([name, v]) => [name.toLowerCase(), v]));
}

/**
 * Signs a request with the same compiled scheme its verifier runs (hmac-verifier.ts): the first
 * header set (the one the verifier prefers), the same key decoding, signed-content template,
 * algorithm, encoding, timestamp format and header layout. `secret` is the one to sign with.
 */
export function signWithScheme(
  name: string,
  scheme: HmacScheme,
  secret: string,
  input: SignInput,
): SignedRequest {
  const [key] = compileKeys(scheme.secretFormat, [secret]);
  const set = scheme.headerSets[0];
  if (key === undefined || set === undefined) throw new SignError(`${name}: nothing to sign with`);
  const given = lowerCased(input.headers);
  const { content, layout } = scheme;
  const absent = content.headers.find((header) => readHeader(given, header) === undefined);
  if (absent !== undefined) {
    throw new SignError(
      `${name}: the signature covers the ${absent} header; give the value it will have (-H '${absent}: …')`,
    );
  }
  checkBodyTimestamp(name, scheme, input);
  const stamped = set.timestamp !== undefined || layout.timestampPrefix !== undefined;
  const timestamp = stamped ? formatTimestamp(input.now, scheme.timestampUnit) : undefined;
  const idHeader = set.id?.[0];
  const id =
    idHeader === undefined ? undefined : (input.id ?? readHeader(given, idHeader) ?? randomUUID());
  // {url}: what the verifier tries first, i.e. the URL as sent, or `publicUrl` + its query.
  const url = scheme.urls(input.url)[0] ?? input.url;
  const parts = content.parts({
    body: input.rawBody,
    timestamp,
    id,
    method: input.method,
    url,
    headers: given,
  });
  const signature = `${layout.prefix}${hmacDigest(set.algorithm ?? scheme.algorithm, key, parts, scheme.encoding)}`;
  const entries =
    layout.timestampPrefix === undefined
      ? [signature]
      : [`${layout.timestampPrefix}${timestamp}`, signature];
  return {
    headers: {
      [set.signature]: entries.join(layout.separator ?? ''),
      ...(set.timestamp !== undefined && timestamp !== undefined && { [set.timestamp]: timestamp }),
      ...(idHeader !== undefined && id !== undefined && { [idHeader]: id }),
    },
    url: input.url,
  };
}

/**
 * A scheme whose timestamp is a field of the signed body (Linear's `webhookTimestamp`): the
 * sender writes the time into the payload, so a payload whose time the verifier would refuse
 * cannot be signed without changing it. Said here, instead of handing out a header that fails.
 */
function checkBodyTimestamp(name: string, scheme: HmacScheme, input: SignInput): void {
  const path = scheme.timestampPath;
  if (path === undefined || scheme.tolerance === 0) return;
  const request = { ...input, headers: {}, query: {} };
  const read = bodyTimestamp(scheme, request);
  const problem = !read.ok
    ? read.reason
    : read.ms === undefined
      ? null
      : checkTimestamp(read.ms, input.now, scheme.tolerance);
  if (problem === null) return;
  const where = `$.${path.join('.')}`;
  const unit = UNIT_NAMES[scheme.timestampUnit];
  throw new SignError(
    `${name}: the timestamp is ${where} inside the signed body and the receiver would refuse it (${problem}); ` +
      `set ${where} to the current time, e.g. ${formatTimestamp(input.now, scheme.timestampUnit)} (${unit}), and sign again`,
  );
}
