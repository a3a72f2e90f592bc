import request from 'supertest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliveries/delivery-worker';
import { createLeases } from '../../src/deliveries/lease';
import type { RetryPolicy } from '../../src/deliveries/retry-policy';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, memoryLogger, type TestApp } from '../support/harness';
import { until } from '../support/until';

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

  const start = (t: TestApp, concurrency: number, leaseMs = 60_000) => {
    worker = createDeliveryWorker({
      store: t.store,
      client: createFlowClient({ baseUrl: api.url, token: 't', timeoutMs: 5000 }),
      policy,
      logger: logs.logger,
      concurrency,
      pollMs: 20,
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
    // Never more than 3 in flight: each call was received before the 3rd-earlier one was answered.
    const events = api.requests.flatMap((r) => [
      { at: r.receivedAt, d: 1 },
      { at: r.answeredAt ?? Infinity, d: -1 },
    ]);
    events.sort((a, b) => a.at - b.at || a.d - b.d);
    let inFlight = 0;
    let most = 0;
    for (const e of events) most = Math.max(most, (inFlight += e.d));
    expect(most).toBeLessThanOrEqual(3);
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

  it('one that waited past a quarter of its lease has it renewed before its call', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 2);
    api.hold();
    const w = start(t, 1, 2000);
    await until(() => api.requests.length === 1 && w.waiting === 1, 5000, '1 called, 1 ahead');
    const claimed = (await t.store.get(ids[1]))!.lease!;
    // More than a quarter of the 2 s lease (500 ms) passes while it waits.
    await until(() => Date.now() > claimed.until - 1400, 3000, 'a quarter of the lease gone');
    // The first answered; the second is called and held there.
    api.release();
    api.hold();
    await until(() => api.requests.length === 2, 5000, 'the second called');
    // Its lease was renewed to a full 2 s from its start (its claim's ran out 1.4 s from now).
    const running = (await t.store.get(ids[1]))!;
    expect(running.state).toBe('running');
    expect(running.lease?.owner).toBe(claimed.owner);
    expect(running.lease!.until).toBeGreaterThanOrEqual(api.requests[1].receivedAt + 1500);
    expect(running.lease!.until).toBeGreaterThan(claimed.until);
    api.release();
    await until(async () => (await t.store.counts()).succeeded === 2, 5000, 'both succeeded');
    expect(logs.text()).not.toContain('lease lost');
  });

  it('one taken over by another holder while it waited is not called here', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const ids = await queue(t, 2);
    api.hold();
    // A lease of 400 ms: the one ahead expires while the first call is held.
    const w = start(t, 1, 400);
    await until(() => api.requests.length === 1 && w.waiting === 1, 5000, '1 called, 1 ahead');
    const ahead = (await t.store.get(ids[1]))!.lease!;
    // Another process claims it once its lease has expired.
    let taken: string[] = [];
    await until(
      async () => {
        taken = (await t.store.claimDue(Date.now(), 10, 'other#1', 60_000)).map((r) => r.id);
        return taken.includes(ids[1]);
      },
      5000,
      'taken over',
    );
    expect(ahead.owner).toMatch(/^test-worker#/);
    api.release();
    await until(
      () => logs.text().includes('claimed ahead was taken over'),
      5000,
      'the worker saw it was taken over',
    );
    // Called once only: the first delivery's call. The new holder has the second.
    expect(api.requests.map((r) => (r.body as { n: number }).n)).toEqual([0]);
    expect((await t.store.get(ids[1]))!.lease?.owner).toBe('other#1');
  });
});
