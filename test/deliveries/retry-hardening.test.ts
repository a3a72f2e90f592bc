import { randomUUID } from 'node:crypto';
import { runDelivery } from '../../src/deliveries/run-delivery';
import { DEFAULT_RETRY_POLICY, mayPass } from '../../src/deliveries/retry-policy';
import type { DeliveryStore } from '../../src/deliveries/types';
import { FlowhookError } from '../../src/errors';
import { createFlowClient, type FlowClient } from '../../src/flows/create-flow-client';
import { toStoredRequest } from '../../src/pipeline/stored-request';
import { FakeFlowApi } from '../support/fake-flow-api';
import { testStore, TOKEN } from '../support/harness';

const POLICY = { ...DEFAULT_RETRY_POLICY, maxAgeMs: 60 * 60_000 };

async function queuedDelivery(store: DeliveryStore) {
  const created = await store.create(
    {
      id: randomUUID(),
      source: 's',
      idempotencyKey: null,
      mode: 'async',
      state: 'running',
      receivedAt: Date.now(),
      mappingVersion: 'v',
      request: toStoredRequest(
        { method: 'POST', path: '/hooks/s', headers: {}, rawBody: Buffer.from('{}') },
        [],
      ),
      routes: [{ route: 'r', flowId: 'f', orgId: 'o', variables: {} }],
      lease: { owner: 'me', until: Date.now() + 60_000 },
      nextAttemptAt: null,
    },
    60_000,
  );
  if (!created.created) throw new Error('not created');
  return created.record;
}

describe('issue 9 item 12: an absurd Retry-After ends', () => {
  let api: FakeFlowApi;
  let store: DeliveryStore;
  let client: FlowClient;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    client = createFlowClient({ baseUrl: api.url, token: TOKEN, timeoutMs: 2000 });
  });
  beforeEach(() => {
    api.reset();
    store = testStore();
  });
  afterEach(() => store.close());
  afterAll(async () => {
    client.close();
    await api.stop();
  });

  it.each([
    ['a 17-digit number of seconds', '99999999999999999'],
    ['ten years', String(10 * 365 * 86_400)],
    ['a date in the year 9999', 'Fri, 31 Dec 9999 23:59:59 GMT'],
  ])(
    "Retry-After of %s: the attempt is recorded and the retry is due by the delivery's maximum age",
    async (_label, retryAfter) => {
      api.answer(503, { error: 'busy' }, { 'retry-after': retryAfter });
      const first = await queuedDelivery(store);
      const { record } = await runDelivery(first, { store, client, policy: POLICY, now: Date.now });
      const stored = await store.get(first.id);
      expect(stored?.attempts).toHaveLength(1);
      expect(stored?.state).toBe('queued');
      expect(Number.isSafeInteger(stored?.nextAttemptAt)).toBe(true);
      // The age counts from the first attempt.
      const ageLimit = stored!.attempts[0].startedAt + POLICY.maxAgeMs;
      expect(stored!.nextAttemptAt!).toBeLessThanOrEqual(ageLimit);
      expect(record.nextAttemptAt).toBe(stored?.nextAttemptAt);
      // Due at the age limit: the worker takes it then, and a failure there makes it dead.
      const claimed = await store.claimDue(ageLimit, 10, 'w', 1000);
      expect(claimed.map((d) => d.id)).toEqual([first.id]);
      const last = await runDelivery(claimed[0], {
        store,
        client,
        policy: POLICY,
        now: () => ageLimit,
      });
      expect(last.record.state).toBe('dead');
    },
  );

  it('the store refuses the outcome: the attempt is recorded anyway, so it counts towards dead', async () => {
    api.answer(503);
    const first = await queuedDelivery(store);
    const update = jest.spyOn(store, 'update');
    update.mockRejectedValueOnce(new Error('SQLITE_CONSTRAINT'));
    await expect(
      runDelivery(first, { store, client, policy: POLICY, now: Date.now }),
    ).rejects.toThrow('SQLITE_CONSTRAINT');
    update.mockRestore();
    expect((await store.get(first.id))?.attempts).toHaveLength(1);
  });
});

describe('issue 9 item 13: one retry decision', () => {
  let store: DeliveryStore;
  beforeEach(() => (store = testStore()));
  afterEach(() => store.close());

  it.each([
    ['a bug in the call (TypeError)', new TypeError('x is not a function')],
    ['an internal error', new FlowhookError('internal', 'internal error')],
    ['a 2xx without a sessionId', upstream(200)],
    ['a 400', upstream(400)],
  ])('%s is not retried: failed after one attempt', async (_label, thrown) => {
    const client: FlowClient = {
      execute: () => Promise.reject(thrown),
      close: () => {},
    };
    const { record } = await runDelivery(await queuedDelivery(store), {
      store,
      client,
      policy: POLICY,
      now: Date.now,
    });
    expect(record.state).toBe('failed');
    expect(record.attempts).toHaveLength(1);
  });
});

describe('issue 9 item 13: mayPass, the one retry decision', () => {
  it.each([
    ['upstream_unreachable', undefined, true],
    ['upstream_timeout', undefined, true],
    ['upstream_error', 429, true],
    ['upstream_error', 500, true],
    ['upstream_error', 503, true],
    ['upstream_error', 400, false],
    ['upstream_error', 200, false],
    ['upstream_error', undefined, false],
    ['internal', undefined, false],
  ])('mayPass(%s, %s) → %s', (code, httpStatus, expected) => {
    expect(mayPass({ code, httpStatus })).toBe(expected);
  });
});

describe('issue 9 item 15: the execute call has a total deadline', () => {
  it('a body trickled after the headers ends as upstream_timeout, not when the body ends', async () => {
    const api = await new FakeFlowApi().start();
    const client = createFlowClient({ baseUrl: api.url, token: TOKEN, timeoutMs: 300 });
    try {
      // One byte every 50 ms, for ever: axios's own timeout (headers) is satisfied at once.
      api.trickle(50);
      await expect(
        client.execute({ orgId: 'o', flowId: 'f', variables: {} }),
      ).rejects.toMatchObject({ code: 'upstream_timeout' });
    } finally {
      client.close();
      await api.stop();
    }
  });
});

function upstream(status: number): FlowhookError {
  return new FlowhookError('upstream_error', `the flow API answered ${status}`, {
    upstream: { status, error: '' },
  });
}
