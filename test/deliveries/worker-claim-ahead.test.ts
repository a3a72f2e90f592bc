import request from 'supertest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliveries/delivery-worker';
import { createLeases } from '../../src/deliveries/lease';
import type { RetryPolicy } from '../../src/deliveries/retry-policy';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, memoryLogger, type TestApp } from '../support/harness';
import { until } from '../support/until';
import { maxOverlap } from '../limits/support';

// The worker claims up to a full set of deliveries ahead of its slots (issue 15): the calls in
// flight never pass its concurrency, what waits is never called twice, and a stop gives it back.

const FILES = {
  'async.yaml': `
mode: async
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off
routes: [{ name: r, flow: async-flow, variables: { n: $.n } }]
`,
};

const policy: RetryPolicy = { maxAttempts: 5, maxAgeMs: 60_000, baseDelayMs: 20, maxDelayMs: 200 };

const post = (t: TestApp, n: number) =>
  request(t.app)
    .post('/hooks/async')
    .set('X-Token', 'tok')
    .type('json')
    .send(JSON.stringify({ n }));

async function queue(t: TestApp, count: number): Promise<string[]> {
  const ids: string[] = [];
  // One at a time: received_at (and so the claim order) follows n.
  for (let n = 0; n < count; n++) {
    const res = await post(t, n);
    expect(res.status).toBe(202);
    ids.push(res.body.deliveryId as string);
  }
  return ids;
}

describe('the worker claims ahead of its slots', () => {
  let api: FakeFlowApi;
  let worker: DeliveryWorker | undefined;
  let logs: ReturnType<typeof memoryLogger>;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
    logs = memoryLogger();
  });
  afterEach(async () => {
    api.release();
    await worker?.stop(2000);
    worker = undefined;
    await api.stop();
  });

  // A long poll by default: one claimed ahead waits up to pollMs before it is given back, and
  // these tests hold calls while they look at what waits.
  const start = (t: TestApp, concurrency: number, leaseMs = 60_000, pollMs = 5000) => {
    worker = createDeliveryWorker({
      store: t.store,
      client: createFlowClient({ baseUrl: api.url, token: 't', timeoutMs: 5000 }),
      policy,
      logger: logs.logger,
      concurrency,
      pollMs,
      leases: createLeases({ flowTimeoutMs: 5000, leaseMs, processName: 'test-worker' }),
    });
    worker.start();
    return worker;
  };

  it('calls at most `concurrency` at once, holds as many more claimed, and runs each once', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 10);
    api.hold();
    const w = start(t, 3);
    await until(() => api.requests.length === 3 && w.waiting === 3, 5000, '3 called, 3 ahead');
    // Held calls are not answered: nothing more reaches the flow API…
    expect(api.requests).toHaveLength(3);
    expect(w.running).toBe(3);
    // …and the 3 ahead are claimed (running under a lease of this worker), never called; the
    // other 4 are still queued.
    const states = await Promise.all(ids.map(async (id) => (await t.store.get(id))!.state));
    expect(states.filter((s) => s === 'running')).toHaveLength(6);
    expect(states.filter((s) => s === 'queued')).toHaveLength(4);
    api.release();
    await until(async () => (await t.store.counts()).succeeded === 10, 10_000, 'all succeeded');
    const ns = api.requests.map((r) => (r.body as { n: number }).n).sort((a, b) => a - b);
    expect(ns).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    // Never more than 3 in flight, by the fake flow API's receive and answer times.
    expect(maxOverlap(api.requests)).toBeLessThanOrEqual(3);
  });

  it('a freed slot starts the next one claimed ahead, oldest first', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    await queue(t, 4);
    api.hold();
    const w = start(t, 1);
    await until(() => api.requests.length === 1 && w.waiting === 1, 5000, '1 called, 1 ahead');
    api.release();
    await until(async () => (await t.store.counts()).succeeded === 4, 10_000, 'all succeeded');
    expect(api.requests.map((r) => (r.body as { n: number }).n)).toEqual([0, 1, 2, 3]);
  });

  it('stop gives back what was claimed ahead, queued again at once, and never called it', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 5);
    api.hold();
    const w = start(t, 2);
    await until(() => api.requests.length === 2 && w.waiting === 2, 5000, '2 called, 2 ahead');
    const stopping = w.stop(5000);
    worker = undefined;
    // The two calls in flight end (stop waits for them); the two ahead go back to the queue.
    api.release();
    await stopping;
    expect(w.waiting).toBe(0);
    expect(api.requests).toHaveLength(2);
    const records = await Promise.all(ids.map(async (id) => (await t.store.get(id))!));
    expect(records.map((r) => r.state)).toEqual([
      'succeeded',
      'succeeded',
      'queued',
      'queued',
      'queued',
    ]);
    // Queued with no lease and due now: another worker takes them without waiting for a lease.
    for (const r of records.slice(2)) {
      expect(r.lease).toBeNull();
      expect(r.nextAttemptAt).toBeNull();
      expect(r.attempts).toEqual([]);
    }
    start(t, 2);
    await until(async () => (await t.store.counts()).succeeded === 5, 5000, 'the rest ran');
    expect(api.requests.map((r) => (r.body as { n: number }).n).sort()).toEqual([0, 1, 2, 3, 4]);
  });

  it('one that waits longer than the poll for a slot is queued again, not called; the next claim runs it', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 2);
    api.hold();
    const w = start(t, 1, 60_000, 20);
    await until(() => api.requests.length === 1, 5000, 'the first called');
    // Claimed ahead at first, then (past pollMs, 20 ms, with the only slot still busy) given
    // back: queued, no lease, due now, no attempt.
    await until(
      async () => {
        const second = (await t.store.get(ids[1]))!;
        return w.waiting === 0 && second.state === 'queued' && second.lease === null;
      },
      5000,
      'the second given back',
    );
    const second = (await t.store.get(ids[1]))!;
    expect(second.nextAttemptAt).toBeNull();
    expect(second.attempts).toEqual([]);
    expect(api.requests).toHaveLength(1);
    // With slow flows it stops claiming ahead: the poll does not claim it again while the slot
    // is busy.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect((await t.store.get(ids[1]))!.state).toBe('queued');
    api.release();
    await until(async () => (await t.store.counts()).succeeded === 2, 5000, 'both succeeded');
    expect(api.requests.map((r) => (r.body as { n: number }).n)).toEqual([0, 1]);
  });

  it('given back only while it still holds it: one another holder took is left alone', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 2);
    api.hold();
    // A lease of 40 ms and a poll of 1 s: the one claimed ahead is taken by another holder once
    // its lease has expired, before the worker's next look (the poll) gives it back.
    const w = start(t, 1, 40, 1000);
    await until(() => api.requests.length === 1, 5000, 'the first called');
    let taken = false;
    await until(
      async () => {
        if (!taken) {
          const claimed = await t.store.claimDue(Date.now(), 10, 'other#1', 60_000);
          taken = claimed.some((r) => r.id === ids[1]);
        }
        return taken && w.waiting === 0;
      },
      5000,
      'taken over, and the worker no longer holding it',
    );
    // The give-back did not apply: the other holder keeps it, and it was never called here.
    expect((await t.store.get(ids[1]))!).toMatchObject({
      state: 'running',
      lease: { owner: 'other#1' },
    });
    api.release();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(api.requests.map((r) => (r.body as { n: number }).n)).toEqual([0]);
  });
});
