import { schemePreset } from '../hmac-preset';
import { standardWebhooksScheme } from '../standard-webhooks-scheme';
import type { VerifySpec } from '../types';

/**
 * Standard Webhooks: the unbranded `webhook-*` headers first, then Svix's `svix-*` set, for
 * senders that deliver through Svix under their own name.
 * https://www.standardwebhooks.com/
 */
export const standardWebhooks = schemePreset((spec: VerifySpec) =>
  standardWebhooksScheme(['webhook', 'svix'], spec.tolerance),
);
