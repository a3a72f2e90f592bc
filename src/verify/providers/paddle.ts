import { hmacPreset } from '../hmac-preset';

/**
 * Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>` of "<ts>:<raw body>" (a colon), keyed
 * with the destination's secret key as text. The SDKs allow 5 seconds; we do too, in both
 * directions (they only reject old ones). Any `h1` may match (several during a secret rotation;
 * the node SDK keeps only the last); other keys (`h2`) are ignored. Delivery id: the body's
 * `event_id` (after-verify.ts), Paddle's documented deduplication key.
 * https://developer.paddle.com/webhooks/signature-verification
 * https://github.com/PaddleHQ/paddle-node-sdk/blob/b8ee4b12741d88abe5a33f5c8a74735c9ac3653f/src/notifications/helpers/webhooks-validator.ts
 */
export const paddle = hmacPreset('paddle', {
  header: 'Paddle-Signature',
  separator: ';',
  timestampPrefix: 'ts=',
  prefix: 'h1=',
  signedContent: '{timestamp}:{body}',
  tolerance: 5,
});
