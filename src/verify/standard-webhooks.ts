import { hmacVerifier } from './hmac-verifier';
import { standardWebhooksScheme } from './standard-webhooks-scheme';
import type { Verifier, VerifySpec } from './types';

/**
 * Standard Webhooks: the unbranded `webhook-*` headers first, then Svix's `svix-*` set, for
 * senders that deliver through Svix under their own name.
 * https://www.standardwebhooks.com/
 */
export function standardWebhooks(spec: VerifySpec): Verifier {
  return hmacVerifier(standardWebhooksScheme(['webhook', 'svix'], spec.tolerance), spec.secrets);
}
