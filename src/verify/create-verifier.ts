import { basic } from './providers/basic';
import { calcom } from './providers/calcom';
import { calendly } from './providers/calendly';
import { github } from './providers/github';
import { gitlab } from './providers/gitlab';
import { hmac } from './providers/hmac';
import { hubspot } from './providers/hubspot';
import { intercom } from './providers/intercom';
import { linear } from './providers/linear';
import { mailgun } from './providers/mailgun';
import { none } from './providers/none';
import { paddle } from './providers/paddle';
import { checkOptions } from './preset-options';
import { isProvider, needsSecret, PROVIDERS, type Provider } from './provider-names';
import { shopify } from './providers/shopify';
import { slack } from './providers/slack';
import { square } from './providers/square';
import { standardWebhooks } from './providers/standard-webhooks';
import { stripe } from './providers/stripe';
import { svix } from './providers/svix';
import { tally } from './providers/tally';
import { token } from './providers/token';
import { twilio } from './providers/twilio';
import { typeform } from './providers/typeform';
import { VerifySpecError, type Verifier, type VerifySpec } from './types';
import { webflow } from './providers/webflow';
import { zendesk } from './providers/zendesk';

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
