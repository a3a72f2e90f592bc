import { github } from './github';
import { hmac } from './hmac';
import { none } from './none';
import { isProvider, needsSecret, PROVIDERS, type Provider } from './providers';
import { shopify } from './shopify';
import { slack } from './slack';
import { standardWebhooks } from './standard-webhooks';
import { stripe } from './stripe';
import { token } from './token';
import { VerifySpecError, type Verifier, type VerifySpec } from './types';

const FACTORIES: Readonly<Record<Provider, (spec: VerifySpec) => Verifier>> = {
  github,
  stripe,
  'standard-webhooks': standardWebhooks,
  slack,
  shopify,
  hmac,
  token,
  none,
};

/**
 * Builds the verifier for a `verify:` block at load time. Every configuration problem throws a
 * VerifySpecError here, so a bad mapping stops the server from starting instead of failing requests.
 */
export function createVerifier(spec: VerifySpec): Verifier {
  if (!isProvider(spec.provider)) {
    throw new VerifySpecError(
      `unknown verify provider "${spec.provider}" (expected one of ${PROVIDERS.join(', ')})`,
    );
  }
  if (needsSecret(spec.provider) && (spec.secrets ?? []).length === 0) {
    throw new VerifySpecError(`verify provider "${spec.provider}" needs a secret`);
  }
  return FACTORIES[spec.provider](spec);
}
