/** The `verify.provider` values; schema/verify.schema.json lists the same (a test keeps them equal). */
export const PROVIDERS = [
  'github',
  'stripe',
  'standard-webhooks',
  'svix',
  'gitlab',
  'slack',
  'shopify',
  'twilio',
  'typeform',
  'tally',
  'linear',
  'paddle',
  'square',
  'zendesk',
  'hubspot',
  'intercom',
  'mailgun',
  'calendly',
  'calcom',
  'webflow',
  'hmac',
  'token',
  'basic',
  'none',
] as const;

export type Provider = (typeof PROVIDERS)[number];

export function isProvider(name: string): name is Provider {
  return (PROVIDERS as readonly string[]).includes(name);
}

/** Whether a preset needs `secret`/`secrets`; only `none` does not. */
export function needsSecret(provider: string): boolean {
  return isProvider(provider) && provider !== 'none';
}
