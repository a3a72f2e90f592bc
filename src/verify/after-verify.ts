import type { AfterVerify } from './types';

const field = (body: unknown, name: string): unknown =>
  body !== null && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;

/**
 * Slack's Events API checks a new Request URL with a signed `url_verification` event and expects
 * its `challenge` back. https://api.slack.com/events/url_verification
 */
const slack: AfterVerify = {
  handshake: (body) => {
    const challenge = field(body, 'challenge');
    return field(body, 'type') === 'url_verification' && typeof challenge === 'string'
      ? { status: 200, body: { challenge } }
      : undefined;
  },
};

/** Stripe puts the event id (`evt_…`) in the body; a retried event carries the same one. */
const stripe: AfterVerify = {
  bodyDeliveryId: (body) => {
    const id = field(body, 'id');
    return typeof id === 'string' ? id : undefined;
  },
};

/** Hooks per preset, keyed by `verify.provider`; a preset without an entry has none. */
export const AFTER_VERIFY: Readonly<Record<string, AfterVerify>> = { slack, stripe };
