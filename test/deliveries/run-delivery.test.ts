import { createLeases } from '../../src/deliveries/lease';
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

async function newDelivery(store: ReturnType<typeof testStore>) {
  const created = await store.create(
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
      await newDelivery(store),
      { store, client: failing, policy: DEFAULT_RETRY_POLICY, now: Date.now },
      { holdUntil: deadline, owner: 'me', leaseMs: 25_000 },
    );
    expect(record.state).toBe('running');
    expect(record.lease).toEqual({ owner: 'me', until: deadline + 25_000 });
    expect(await store.claimDue(deadline + 1, 10, 'worker', 1000)).toEqual([]);
  });

  it('attempts before a replay do not count for its routes (fromAttempt)', async () => {
    const store = testStore();
    const first = await newDelivery(store);
    await runDelivery(first, {
      store,
      client: failing,
      policy: { ...DEFAULT_RETRY_POLICY, maxAttempts: 2 },
      now: Date.now,
    });
    const routes = [{ route: 'r', flowId: 'f', orgId: 'o', variables: {}, fromAttempt: 2 }];
    await store.update(first.id, { state: 'running', routes });
    const replayed = (await store.get(first.id))!;
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
          'i-twilio-idempotency-token': 'ev-123',
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
      // An event id whose header name says "token": kept (it is the idempotency key).
      'i-twilio-idempotency-token': 'ev-123',
    });
  });
});

/** A flow client whose call hangs until `release()`, then succeeds with `sessionId`. */
function heldClient(sessionId: string): { client: FlowClient; release: () => void } {
  let answer: (() => void) | undefined;
  return {
    client: {
      execute: () =>
        new Promise((resolve) => {
          answer = () => resolve({ sessionId, result: 'done' });
        }),
      close: () => {},
    },
    release: () => answer?.(),
  };
}

describe('runDelivery: a lease lost mid-call', () => {
  it('records the attempt but leaves the state to the process that took the delivery over', async () => {
    const store = testStore();
    const record = await newDelivery(store); // running, lease { owner: 'me' }
    const { client: slow, release } = heldClient('late-session');
    const run = runDelivery(record, {
      store,
      client: slow,
      policy: DEFAULT_RETRY_POLICY,
      now: Date.now,
    });
    // The lease expires while the call hangs, and another process claims the delivery.
    const claimed = await store.claimDue(Date.now() + 5000, 10, 'other', 60_000);
    expect(claimed.map((d) => d.id)).toEqual([record.id]);
    release();
    const outcome = await run;
    expect(outcome.lost).toBe(true);
    const stored = await store.get(record.id);
    // The flow ran: its attempt is on record…
    expect(stored?.attempts).toMatchObject([
      { number: 1, outcome: 'succeeded', sessionId: 'late-session' },
    ]);
    // …but the state and lease are still the new holder's.
    expect(stored?.state).toBe('running');
    expect(stored?.lease?.owner).toBe('other');
    expect(outcome.record.lease?.owner).toBe('other');
    await store.close();
  });

  it('a takeover by the same process (a new hold) counts as lost too', async () => {
    const store = testStore();
    const created = await store.create(
      {
        ...(await newDelivery(store)),
        id: '00000000-0000-4000-8000-000000000002',
        lease: null,
        state: 'queued',
      },
      60_000,
    );
    if (!created.created) throw new Error('not created');
    const leases = createLeases({ flowTimeoutMs: 1000, processName: 'proc' });
    const [first] = await store.claimDue(Date.now(), 1, leases.newHolder(), 1);
    const { client: slow, release } = heldClient('late');
    const run = runDelivery(first, {
      store,
      client: slow,
      policy: DEFAULT_RETRY_POLICY,
      now: Date.now,
    });
    // The lease (1 ms) ran out: this same process claims it again, under a new hold.
    const [again] = await store.claimDue(Date.now() + 10, 1, leases.newHolder(), 60_000);
    expect(again.lease?.owner).not.toBe(first.lease?.owner);
    release();
    expect((await run).lost).toBe(true);
    expect(await store.get(first.id)).toMatchObject({ state: 'running', lease: again.lease });
    await store.close();
  });

  it('applies its outcome while it still holds the lease', async () => {
    const store = testStore();
    const record = await newDelivery(store);
    const ok: FlowClient = {
      execute: async () => ({ sessionId: 's-1', result: 'done' }),
      close: () => {},
    };
    const outcome = await runDelivery(record, {
      store,
      client: ok,
      policy: DEFAULT_RETRY_POLICY,
      now: Date.now,
    });
    expect(outcome.lost).toBe(false);
    const stored = await store.get(record.id);
    expect(stored).toMatchObject({ state: 'succeeded', lease: null });
    // What runDelivery returns is what was stored (it is built in memory, not read back).
    expect(outcome.record).toMatchObject({
      state: stored?.state,
      lease: stored?.lease,
      lastError: stored?.lastError,
      nextAttemptAt: stored?.nextAttemptAt,
      attempts: stored?.attempts,
    });
    await store.close();
  });
});
