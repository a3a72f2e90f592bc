import { hmacPreset } from '../hmac-preset';

const ids = ['X-Shopify-Webhook-Id', 'shopify-event-id'];

/**
 * Shopify: base64 HMAC-SHA256 of the raw body keyed with the app's client secret; no timestamp
 * (X-Shopify-Triggered-At is not signed). "Events" webhooks also send `shopify-hmac-sha256`, which
 * the official SDK prefers when present, so we do too.
 * https://shopify.dev/docs/apps/build/webhooks/subscribe/https
 * https://github.com/Shopify/shopify-app-js/blob/0f9eab665e74e6e057e43402e0b6b14fd094456b/packages/apps/shopify-api/lib/utils/hmac-validator.ts
 */
export const shopify = hmacPreset(
  'shopify',
  { header: 'shopify-hmac-sha256', encoding: 'base64', idHeader: ids },
  (scheme) => ({
    ...scheme,
    headerSets: [...scheme.headerSets, { signature: 'X-Shopify-Hmac-Sha256', id: ids }],
  }),
);
