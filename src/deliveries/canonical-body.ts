import type { NewDelivery, StoredRequest } from './types';

/**
 * The bytes a stored request's bodyBase64 was made from, when the caller still has them
 * (toStoredRequest): kept by the request object, with the string they encode, so the store need
 * not decode and re-encode the body to check it (issue 15). Weak: gone with the request.
 */
const KNOWN = new WeakMap<StoredRequest, { readonly base64: string; readonly body: Buffer }>();

/** Records that `request.bodyBase64` is the base64 of `body` (which must not change after). */
export function withBody<R extends StoredRequest>(request: R, body: Buffer): R {
  KNOWN.set(request, { base64: request.bodyBase64, body });
  return request;
}

/**
 * The raw body bytes of a new delivery. Buffer.from skips what is not base64, so a body that does
 * not round-trip is refused rather than stored with bytes lost silently. A request made by
 * toStoredRequest brings its bytes along, used as they are while bodyBase64 is still the string
 * made from them.
 */
export function canonicalBody(delivery: NewDelivery): Buffer {
  const known = knownBody(delivery.request);
  if (known) return known;
  const body = Buffer.from(delivery.request.bodyBase64, 'base64');
  if (body.toString('base64') !== delivery.request.bodyBase64) {
    throw new TypeError(`delivery ${delivery.id}: request.bodyBase64 is not canonical base64`);
  }
  return body;
}

/** The bytes recorded for a request by withBody, while its bodyBase64 is still theirs. */
export function knownBody(request: StoredRequest): Buffer | undefined {
  const known = KNOWN.get(request);
  return known && known.base64 === request.bodyBase64 ? known.body : undefined;
}
