import { hmacPreset } from '../hmac-preset';

/**
 * Linear: `Linear-Signature: <hex HMAC-SHA256>` of the raw body. The timestamp is the body's
 * `webhookTimestamp` (milliseconds), covered by the signature; the official SDK refuses it more
 * than 60 s away in either direction. Delivery id: the `Linear-Delivery` header.
 * https://github.com/linear/linear/blob/8335e09a17dd8aa351dace3d05a94a55e78dad2a/packages/sdk/src/webhooks/client.ts
 * https://linear.app/developers/webhooks#securing-webhooks
 */
export const linear = hmacPreset('linear', {
  header: 'Linear-Signature',
  timestampPath: '$.webhookTimestamp',
  timestampUnit: 'ms',
  idHeader: 'Linear-Delivery',
  tolerance: 60,
});
