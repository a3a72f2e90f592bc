import { hmacPreset } from '../hmac-preset';

/**
 * Square: `x-square-hmacsha256-signature: <base64 HMAC-SHA256>` of notification URL + raw body,
 * keyed with the signature key as text (it looks like base64url but is not decoded). The URL must
 * be exactly the subscription's: set `publicUrl` when a proxy changes it. No timestamp; the
 * delivery id is the body's `event_id`.
 * https://developer.squareup.com/docs/webhooks/step3validate
 * https://github.com/square/square-nodejs-sdk/blob/c58c6e097af6717e5c728712f79f89f6cd9da12f/src/wrapper/WebhooksHelper.ts
 */
export const square = hmacPreset('square', {
  header: 'x-square-hmacsha256-signature',
  encoding: 'base64',
  signedContent: '{url}{body}',
});
