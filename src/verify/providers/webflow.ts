import { hmacPreset } from '../hmac-preset';

/**
 * Webflow: `x-webflow-signature: <hex HMAC-SHA256>` of "<timestamp>:<body>", `x-webflow-timestamp`
 * in milliseconds; the docs say to refuse requests older than 5 minutes. Only webhooks created
 * through the API or an OAuth app are signed. The official SDK signs `JSON.stringify(req.body)`;
 * we verify the raw bytes. No delivery id header.
 * https://developers.webflow.com/data/v1.0.0/docs/verifying-webhook-signatures
 */
export const webflow = hmacPreset('webflow', {
  header: 'x-webflow-signature',
  signedContent: '{timestamp}:{body}',
  timestampHeader: 'x-webflow-timestamp',
  timestampUnit: 'ms',
  tolerance: 300,
});
