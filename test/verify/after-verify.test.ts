import { AFTER_VERIFY } from '../../src/verify/after-verify';
import { createPreset } from '../../src/verify/create-preset';
import type { HeaderMap } from '../../src/verify/types';

const handshake = (provider: string, body: unknown, headers: HeaderMap = {}) =>
  AFTER_VERIFY[provider]?.handshake?.(body, headers);
const PONG = { status: 200, body: { ok: true } };

describe('AFTER_VERIFY handshakes', () => {
  it.each<[string, string, unknown, HeaderMap, unknown]>([
    [
      'slack',
      'url_verification',
      { type: 'url_verification', challenge: 'c-123' },
      {},
      { status: 200, body: { challenge: 'c-123' } },
    ],
    ['slack', 'url_verification without a challenge', { type: 'url_verification' }, {}, undefined],
    [
      'slack',
      'ssl_check=1 (form)',
      { ssl_check: '1', token: 'x' },
      {},
      { status: 200, body: '', text: true },
    ],
    ['slack', 'an event_callback', { type: 'event_callback', event: {} }, {}, undefined],
    [
      'github',
      'X-GitHub-Event: ping',
      { zen: 'Keep it logically awesome.', hook_id: 1 },
      { 'x-github-event': 'ping' },
      PONG,
    ],
    [
      'github',
      'X-GitHub-Event: push',
      { ref: 'refs/heads/main' },
      { 'x-github-event': 'push' },
      undefined,
    ],
    ['intercom', 'topic ping', { type: 'notification_event', topic: 'ping' }, {}, PONG],
    [
      'intercom',
      'topic conversation.user.created',
      { topic: 'conversation.user.created' },
      {},
      undefined,
    ],
    ['calcom', 'triggerEvent PING', { triggerEvent: 'PING', payload: { type: 'Test' } }, {}, PONG],
    ['calcom', 'triggerEvent BOOKING_CREATED', { triggerEvent: 'BOOKING_CREATED' }, {}, undefined],
    ['stripe', 'any event (no handshake)', { type: 'ping' }, {}, undefined],
    ['slack', 'a form body that is a string', 'ssl_check=1', {}, undefined],
    ['github', 'a null body', null, { 'x-github-event': 'ping' }, PONG],
  ])('handshake of %s with %s → answer', (provider, _situation, body, headers, want) => {
    expect(handshake(provider, body, headers)).toEqual(want);
  });
});

describe('AFTER_VERIFY body delivery ids', () => {
  it.each<[string, unknown, string | undefined]>([
    ['stripe', { id: 'evt_1' }, 'evt_1'],
    ['slack', { event_id: 'Ev123' }, 'Ev123'],
    ['typeform', { event_id: '01ABCDEF' }, '01ABCDEF'],
    ['tally', { eventId: 'a4cb511e' }, 'a4cb511e'],
    ['paddle', { event_id: 'evt_01h', notification_id: 'ntf_01h' }, 'evt_01h'],
    ['square', { event_id: 'ac3ac95b' }, 'ac3ac95b'],
    ['intercom', { id: 'notif_1' }, 'notif_1'],
    ['mailgun', { 'event-data': { id: 'CPgfbmQMTCKtHW6uIWtuVe' } }, 'CPgfbmQMTCKtHW6uIWtuVe'],
    ['mailgun', { 'event-data': {} }, undefined],
    ['stripe', { id: 42 }, '42'],
    ['stripe', { id: '' }, undefined],
    ['stripe', 'not an object', undefined],
    ['stripe', Object.create({ id: 'inherited' }), undefined],
  ])('bodyDeliveryId of %s for %j → %s', (provider, body, want) => {
    expect(AFTER_VERIFY[provider]?.bodyDeliveryId?.(body)).toBe(want);
  });
});

describe('createPreset()', () => {
  it('createPreset() for slack → the verifier and the hooks', () => {
    const preset = createPreset({ provider: 'slack', secrets: ['s3cret-slack'] });
    expect(typeof preset.verify).toBe('function');
    expect(typeof preset.handshake).toBe('function');
    expect(typeof preset.bodyDeliveryId).toBe('function');
  });

  it('createPreset() for shopify → no hooks (its delivery id is a header)', () => {
    const preset = createPreset({ provider: 'shopify', secrets: ['s3cret-shop'] });
    expect(preset.handshake).toBeUndefined();
    expect(preset.bodyDeliveryId).toBeUndefined();
  });
});
