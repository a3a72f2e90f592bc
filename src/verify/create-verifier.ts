import { basic } from './basic';
import { calcom } from './calcom';
import { calendly } from './calendly';
import { github } from './github';
import { gitlab } from './gitlab';
import { hmac } from './hmac';
import { hubspot } from './hubspot';
import { intercom } from './intercom';
import { linear } from './linear';
import { mailgun } from './mailgun';
import { none } from './none';
import { paddle } from './paddle';
import { checkOptions } from './preset-options';
import { isProvider, needsSecret, PROVIDERS, type Provider } from './providers';
import { shopify } from './shopify';
import { slack } from './slack';
import { square } from './square';
import { standardWebhooks } from './standard-webhooks';
import { stripe } from './stripe';
import { svix } from './svix';
import { tally } from './tally';
import { token } from './token';
import { twilio } from './twilio';
import { typeform } from './typeform';
import { VerifySpecError, type Verifier, type VerifySpec } from './types';
import { webflow } from './webflow';
import { zendesk } from './zendesk';

const FACTORIES: Readonly<Record<Provider, (spec: VerifySpec) => Verifier>> = {
  github,
  stripe,
  'standard-webhooks': standardWebhooks,
  svix,
  gitlab,
  slack,
  shopify,
  twilio,
  typeform,
  tally,
  linear,
  paddle,
  square,
  zendesk,
  hubspot,
  intercom,
  mailgun,
  calendly,
  calcom,
  webflow,
  hmac,
  token,
  basic,
  none,
};

/**
 * Builds the verifier for a `verify:` block at load time. Every configuration problem throws a
 * VerifySpecError here, so a bad mapping disables its source instead of failing requests.
 */
export function createVerifier(spec: VerifySpec): Verifier {
  if (!isProvider(spec.provider)) {
    throw new VerifySpecError(
      `unknown verify provider "${spec.provider}" (expected one of ${PROVIDERS.join(', ')})`,
    );
  }
  checkOptions(spec.provider, spec);
  if (needsSecret(spec.provider) && (spec.secrets ?? []).length === 0) {
    throw new VerifySpecError(`verify provider "${spec.provider}" needs a secret`);
  }
  if (!needsSecret(spec.provider) && (spec.secrets ?? []).length > 0) {
    throw new VerifySpecError(`verify provider "${spec.provider}" takes no secret`);
  }
  return FACTORIES[spec.provider](spec);
}
