import { bodyField, idAt } from './body-field';
import type { AfterVerify, Handshake } from './types';

/** The answer to a provider's "is this endpoint alive?" request: 200, and no flow runs. */
const PONG: Handshake = { status: 200, body: { ok: true } };

/**
 * Slack: the Events API checks a new Request URL with a signed `url_verification` event and
 * expects its `challenge` back (https://api.slack.com/events/url_verification). Slash command URLs
 * get a signed `ssl_check=1` form post, answered with an empty 200 (bolt-js answers both after
 * verifying the signature). Delivery id: the Events API `event_id`.
 */
const slack: AfterVerify = {
  handshake: (body) => {
    const challenge = bodyField(body, 'challenge');
    if (bodyField(body, 'type') === 'url_verification' && typeof challenge === 'string') {
      return { status: 200, body: { challenge } };
    }
    return bodyField(body, 'ssl_check') === '1' ? { status: 200, body: '', text: true } : undefined;
  },
  bodyDeliveryId: idAt('event_id'),
};

/**
 * Hooks per preset, keyed by `verify.provider`; a preset without an entry has none. Handshakes
 * only run after the signature has been verified (the pipeline calls them on a verified body).
 */
export const AFTER_VERIFY: Readonly<Record<string, AfterVerify>> = {
  slack,
  // GitHub sends a signed `ping` event when a webhook is created.
  // https://docs.github.com/webhooks/webhook-events-and-payloads#ping
  github: {
    handshake: (_body, headers) => (headers['x-github-event'] === 'ping' ? PONG : undefined),
  },
  // Intercom sends a signed notification with topic `ping` when the webhook is saved.
  intercom: {
    handshake: (body) => (bodyField(body, 'topic') === 'ping' ? PONG : undefined),
    bodyDeliveryId: idAt('id'),
  },
  // Cal.com's "Ping test" button posts a signed `triggerEvent: "PING"`.
  calcom: { handshake: (body) => (bodyField(body, 'triggerEvent') === 'PING' ? PONG : undefined) },
  // Stripe puts the event id (`evt_…`) in the body; a retried event carries the same one.
  stripe: { bodyDeliveryId: idAt('id') },
  typeform: { bodyDeliveryId: idAt('event_id') },
  tally: { bodyDeliveryId: idAt('eventId') },
  paddle: { bodyDeliveryId: idAt('event_id') },
  square: { bodyDeliveryId: idAt('event_id') },
  mailgun: { bodyDeliveryId: idAt('event-data', 'id') },
};
