import { runDelivery } from '../../src/deliveries/run-delivery';
import { DEFAULT_RETRY_POLICY } from '../../src/deliveries/retry-policy';
import { FlowhookError } from '../../src/errors';
import type { FlowClient } from '../../src/flows/create-flow-client';
import { toStoredRequest } from '../../src/pipeline/stored-request';
import { testStore } from '../support/harness';

const failing: FlowClient = {
  execute: async () => {
    throw new FlowhookError('upstream_error', 'the flow API answered 503', {
      upstream: { status: 503, error: '' },
    });
  },
  close: () => {},
};

function newDelivery(store: ReturnType<typeof testStore>) {
  const created = store.create(
    {
      id: '00000000-0000-4000-8000-000000000001',
      source: 's',
      idempotencyKey: null,
      mode: 'sync',
      state: 'running',
      receivedAt: Date.now(),
      mappingVersion: 'v',
      request: toStoredRequest(
        { method: 'POST', path: '/hooks/s', headers: {}, rawBody: Buffer.from('{}') },
        [],
      ),
      routes: [{ route: 'r', flowId: 'f', orgId: 'o', variables: {} }],
      lease: { owner: 'me', until: Date.now() + 1000 },
      nextAttemptAt: null,
    },
    60_000,
  );
  if (!created.created) throw new Error('not created');
  return created.record;
}

describe('runDelivery', () => {
  it('a retry held for a sync sender keeps a lease past the budget by one attempt (regression: the worker ran it twice)', async () => {
    const store = testStore();
    const deadline = Date.now() + 60_000;
    const { record } = await runDelivery(
      newDelivery(store),
      { store, client: failing, policy: DEFAULT_RETRY_POLICY, now: Date.now },
      { holdUntil: deadline, owner: 'me', leaseMs: 25_000 },
    );
    expect(record.state).toBe('running');
    expect(record.lease).toEqual({ owner: 'me', until: deadline + 25_000 });
    expect(store.claimDue(deadline + 1, 10, 'worker', 1000)).toEqual([]);
  });

  it('attempts before a replay do not count for its routes (fromAttempt)', async () => {
    const store = testStore();
    const first = newDelivery(store);
    await runDelivery(first, {
      store,
      client: failing,
      policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
      now: Date.now,
    });
    const replayed = store.update(first.id, {
      state: 'running',
      routes: [{ route: 'r', flowId: 'f', orgId: 'o', variables: {}, fromAttempt: 2 }],
    });
    const { record } = await runDelivery(replayed, {
      store,
      client: failing,
      policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
      now: Date.now,
    });
    // Two attempts in all, but only one since the replay: not dead yet.
    expect(record.attempts).toHaveLength(2);
    expect(record.state).toBe('queued');
  });
});

describe('toStoredRequest', () => {
  it('redacts credential headers, secret values and token query values; a short secret does not over-redact', () => {
    const stored = toStoredRequest(
      {
        method: 'POST',
        path: '/hooks/s?token=abc&k=longsecretvalue&page=2',
        headers: {
          'content-type': 'application/json',
          'x-custom': 'Bearer longsecretvalue',
          authorization: 'Basic x',
          'x-s': 's',
        },
        rawBody: Buffer.from('{}'),
      },
      ['longsecretvalue', 's'],
    );
    expect(stored.url).toBe('/hooks/s?token=%5Bredacted%5D&k=%5Bredacted%5D&page=2');
    expect(stored.headers).toEqual({
      'content-type': 'application/json',
      'x-custom': '[redacted]',
      authorization: '[redacted]',
      'x-s': '[redacted]',
    });
  });
});
