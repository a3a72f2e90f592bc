import { schemePreset } from '../hmac-preset';
import { standardWebhooksScheme } from '../standard-webhooks-scheme';
import type { VerifySpec } from '../types';

/**
 * Svix: the Standard Webhooks scheme under `svix-id`, `svix-timestamp`, `svix-signature`, falling
 * back to the unbranded `webhook-*` headers, in the order Svix's own library reads them.
 * https://github.com/svix/svix-webhooks/blob/29029490ddff76f681ae6c602d609e697e0da4fc/javascript/src/webhook.ts
 */
export const svix = schemePreset((spec: VerifySpec) =>
  standardWebhooksScheme(['svix', 'webhook'], spec.tolerance),
);
