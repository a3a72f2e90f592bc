import { hmacPreset } from '../hmac-preset';

/**
 * Zendesk: `X-Zendesk-Webhook-Signature: <base64>` of timestamp + raw body (no separator),
 * `X-Zendesk-Webhook-Signature-Timestamp` an ISO 8601 date; the secret is used as text. Zendesk
 * gives no window; we use 300 s. Delivery id: `X-Zendesk-Webhook-Invocation-Id`.
 * https://developer.zendesk.com/documentation/webhooks/verifying/
 * https://developer.zendesk.com/documentation/webhooks/anatomy-of-a-webhook-request/
 */
export const zendesk = hmacPreset('zendesk', {
  header: 'X-Zendesk-Webhook-Signature',
  encoding: 'base64',
  signedContent: '{timestamp}{body}',
  timestampHeader: 'X-Zendesk-Webhook-Signature-Timestamp',
  timestampUnit: 'iso',
  idHeader: 'X-Zendesk-Webhook-Invocation-Id',
  tolerance: 300,
});
