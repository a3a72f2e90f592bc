import { hmacVerifier } from './hmac-verifier';
import { standardWebhooksScheme } from './standard-webhooks-scheme';
import type { Verifier, VerifySpec } from './types';

/**
 * Svix: the Standard Webhooks scheme under `svix-id`, `svix-timestamp`, `svix-signature`, falling
 * back to the unbranded `webhook-*` headers, in the order Svix's own library reads them.
 * https://github.com/svix/svix-webhooks/blob/29029490ddff76f681ae6c602d609e697e0da4fc/javascript/src/webhook.ts
 */
export function svix(spec: VerifySpec): Verifier {
  return hmacVerifier(standardWebhooksScheme(['svix', 'webhook'], spec.tolerance), spec.secrets);
}
