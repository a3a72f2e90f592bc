import type { Provider } from './provider-names';
import { VerifySpecError, type VerifySpec } from './types';

export type OptionName = Exclude<keyof VerifySpec, 'provider' | 'secrets'>;

const HMAC: readonly OptionName[] = [
  'header',
  'prefix',
  'separator',
  'timestampPrefix',
  'algorithm',
  'encoding',
  'secretEncoding',
  'signedContent',
  'timestampHeader',
  'timestampPath',
  'timestampUnit',
  'idHeader',
  'tolerance',
  'publicUrl',
];

/**
 * The `verify:` keys each preset reads, besides `provider`, `secret` and `secrets`. Anything else
 * is a load error: `tolerance` on github (which signs no timestamp) would otherwise look like
 * protection that is not there.
 */
export const PRESET_OPTIONS: Readonly<Record<Provider, readonly OptionName[]>> = {
  github: ['legacy'],
  stripe: ['tolerance'],
  'standard-webhooks': ['tolerance'],
  svix: ['tolerance'],
  gitlab: ['tolerance'],
  slack: ['tolerance'],
  shopify: [],
  twilio: ['publicUrl'],
  typeform: [],
  tally: [],
  linear: ['tolerance'],
  paddle: ['tolerance'],
  square: ['publicUrl'],
  zendesk: ['tolerance'],
  hubspot: ['tolerance', 'publicUrl', 'legacy'],
  intercom: [],
  mailgun: ['tolerance'],
  calendly: ['tolerance'],
  calcom: [],
  webflow: ['tolerance'],
  hmac: HMAC,
  token: ['header', 'query'],
  basic: ['username'],
  none: [],
};

/** Throws a VerifySpecError naming the first key `provider` does not use. */
export function checkOptions(provider: Provider, spec: VerifySpec): void {
  const allowed: readonly string[] = PRESET_OPTIONS[provider];
  const unused = Object.entries(spec)
    .filter(([key, value]) => key !== 'provider' && key !== 'secrets' && value !== undefined)
    .map(([key]) => key)
    .find((key) => !allowed.includes(key));
  if (unused === undefined) return;
  const takes = allowed.length > 0 ? `it takes ${allowed.join(', ')}` : 'it takes only secret(s)';
  throw new VerifySpecError(`option "${unused}" is not used by provider "${provider}" (${takes})`);
}
