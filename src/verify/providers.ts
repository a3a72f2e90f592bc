/** The `verify.provider` values; the mapping JSON schema uses this list as its enum. */
export const PROVIDERS = [
  'github',
  'stripe',
  'standard-webhooks',
  'slack',
  'shopify',
  'hmac',
  'token',
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
