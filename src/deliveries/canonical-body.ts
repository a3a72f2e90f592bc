import type { NewDelivery } from './types';

/**
 * The raw body bytes of a new delivery. Buffer.from skips what is not base64, so a body that does
 * not round-trip is refused rather than stored with bytes lost silently.
 */
export function canonicalBody(delivery: NewDelivery): Buffer {
  const body = Buffer.from(delivery.request.bodyBase64, 'base64');
  if (body.toString('base64') !== delivery.request.bodyBase64) {
    throw new TypeError(`delivery ${delivery.id}: request.bodyBase64 is not canonical base64`);
  }
  return body;
}
