import { hmacPreset } from '../hmac-preset';

/**
 * Calendly: `Calendly-Webhook-Signature: t=<unix>,v1=<hex>` of "<t>.<raw body>", keyed with the
 * webhook signing key; a ~3 minute window is suggested, so 180 s. No delivery id is sent.
 * https://developer.calendly.com/api-docs/overview/webhooks/webhook-signatures
 */
export const calendly = hmacPreset('calendly', {
  header: 'Calendly-Webhook-Signature',
  separator: ',',
  timestampPrefix: 't=',
  prefix: 'v1=',
  signedContent: '{timestamp}.{body}',
  tolerance: 180,
});
