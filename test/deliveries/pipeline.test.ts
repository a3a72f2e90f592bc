import request from 'supertest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliveries/delivery-worker';
import { createLeases } from '../../src/deliveries/lease';
import type { RetryPolicy } from '../../src/deliveries/retry-policy';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';
import { buildApp, memoryLogger, testStore, type TestApp } from '../support/harness';
import { until } from '../support/until';

const FILES = {
  'sync.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off # hundreds of deliveries from one address
routes: [{ name: r, flow: sync-flow, variables: { n: $.n } }]
`,
  'other.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off # hundreds of deliveries from one address
routes: [{ name: r, flow: other-flow, variables: { n: $.n } }]
`,
  'keyed.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
idempotency: { key: { path: $.eventId } }
rateLimit: off
routes: [{ name: r, flow: keyed-flow, variables: { n: $.n } }]
`,
  'async.yaml': `
mode: async
verify: { provider: token, header: X-Token, secret: tok }
rateLimit: off # hundreds of deliveries from one address
routes: [{ name: r, flow: async-flow, variables: { n: $.n } }]
`,
};

const post = (t: TestApp, source: string, body: unknown, key?: string) => {
  const req = request(t.app).post(`/hooks/${source}`).set('X-Token', 'tok').type('json');
  if (key) req.set('Idempotency-Key', key);
  return req.send(JSON.stringify(body));
};

describe('idempotency (sync)', () => {
  let api: FakeFlowApi;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());
  beforeEach(() => api.reset());

  it('a repeat gets the first answer again, with Idempotent-Replayed and "replayed": true (issue 10), and the flow runs once', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const first = await post(t, 'keyed', { eventId: 'evt_1', n: 1 });
    const again = await post(t, 'keyed', { eventId: 'evt_1', n: 1 });
    expect(first.status).toBe(200);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(first.body.replayed).toBeUndefined();
    expect(again.status).toBe(200);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(api.requests).toHaveLength(1);
  });

  it('50 concurrent copies of one delivery: one execution, and every copy gets its answer', async () => {
    api.answerAfter(150); // the first is still running while the copies arrive
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => post(t, 'keyed', { eventId: 'evt_concurrent', n: 7 })),
    );
    expect(api.requests).toHaveLength(1);
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]));
    expect(new Set(answers.map((a) => a.body.sessionId))).toEqual(
      new Set([answers[0].body.sessionId]),
    );
    expect(answers.filter((a) => a.headers['idempotent-replayed'] === 'true')).toHaveLength(49);
  });

  it('the same key on another source, and no key at all, are separate deliveries', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    await post(t, 'keyed', { eventId: 'shared', n: 1 });
    await post(t, 'sync', { n: 2 });
    await post(t, 'sync', { n: 2 });
    expect(api.requests).toHaveLength(3);
  });

  it.each([
    ['an empty string', ''],
    ['a blank string', '  '],
  ])(
    'an idempotency key that is %s is no key: each delivery runs (issue 9, item 14)',
    async (_label, eventId) => {
      const t = buildApp({ files: FILES, flowBaseUrl: api.url });
      const first = await post(t, 'keyed', { eventId, n: 1 });
      const second = await post(t, 'keyed', { eventId, n: 2 });
      expect([first.status, second.status]).toEqual([200, 200]);
      expect(second.headers['idempotent-replayed']).toBeUndefined();
      expect(second.body.deliveryId).not.toBe(first.body.deliveryId);
      expect(api.requests.map((r) => r.body)).toEqual([{ n: 1 }, { n: 2 }]);
      expect((await t.store.get(first.body.deliveryId))?.idempotencyKey).toBeNull();
    },
  );

  it('a repeat of a refused request (422) gets the same refusal', async () => {
    const files = {
      'strict.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
idempotency: { key: { header: X-Request-Id } }
routes: [{ name: r, flow: f, variables: { n: { path: $.n, required: true } } }]
`,
    };
    const t = buildApp({ files, flowBaseUrl: api.url });
    const send = () =>
      request(t.app)
        .post('/hooks/strict')
        .set('X-Token', 'tok')
        .set('X-Request-Id', 'r-1')
        .type('json')
        .send('{}');
    const first = await send();
    const again = await send();
    expect(first.status).toBe(422);
    expect(again.status).toBe(422);
    expect(again.body).toEqual({ ...first.body, replayed: true });
    expect(again.headers['idempotent-replayed']).toBe('true');
  });

  it('every verified request is stored, headers and the token redacted', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const res = await request(t.app)
      .post('/hooks/sync?token=tok&page=2')
      .set('X-Token', 'tok')
      .set('Authorization', 'Bearer abc')
      .type('json')
      .send('{"n":5}');
    const stored = await t.store.get(res.body.deliveryId);
    expect(stored).toMatchObject({
      state: 'succeeded',
      mode: 'sync',
      request: { method: 'POST', url: '/hooks/sync?token=%5Bredacted%5D&page=2', bodyBytes: 7 },
      routes: [{ route: 'r', flowId: 'sync-flow', variables: { n: 5 } }],
      attempts: [{ number: 1, outcome: 'succeeded', httpStatus: 200, route: 'r' }],
      answer: { status: 200 },
    });
    expect(stored?.request.headers['x-token']).toBe('[redacted]');
    expect(stored?.request.headers.authorization).toBe('[redacted]');
    expect(Buffer.from(stored?.request.bodyBase64 ?? '', 'base64').toString()).toBe('{"n":5}');
    expect(JSON.stringify(stored)).not.toContain('tok"');
  });
});

describe('mode: async', () => {
  const fast: RetryPolicy = { maxAttempts: 50, maxAgeMs: 60_000, baseDelayMs: 20, maxDelayMs: 200 };
  let worker: DeliveryWorker | undefined;
  afterEach(async () => {
    await worker?.stop(2000);
    worker = undefined;
  });

  const startWorker = (t: TestApp, baseUrl: string, policy = fast) => {
    worker = createDeliveryWorker({
      store: t.store,
      client: createFlowClient({ baseUrl, token: 't', timeoutMs: 1000 }),
      policy,
      logger: memoryLogger().logger,
      concurrency: 16,
      pollMs: 20,
      // A lease far past any call: a claim expiring on a loaded machine would run a delivery twice
      // (at least once, by design), which is not what these tests are about (issue 10 item 13).
      leases: createLeases({ flowTimeoutMs: 1000, leaseMs: 60_000, processName: 'test-worker' }),
    });
    worker.start();
    return worker;
  };

  it('the delivery is stored before the 202; the worker runs it', async () => {
    const api = await new FakeFlowApi().start();
    const store = testStore();
    let queuedSeen = 0;
    const t = buildApp({ files: FILES, flowBaseUrl: api.url, store, onQueued: () => queuedSeen++ });
    const res = await post(t, 'async', { n: 1 });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId: expect.any(String), status: 'queued' });
    expect((await store.get(res.body.deliveryId))?.state).toBe('queued'); // durable before the answer
    expect(queuedSeen).toBe(1);
    expect(api.requests).toHaveLength(0);
    startWorker(t, api.url);
    await until(async () => (await store.get(res.body.deliveryId))?.state === 'succeeded', 5000);
    expect(api.requests.map((r) => r.body)).toEqual([{ n: 1 }]);
    await api.stop();
  });

  it("tracing off: the worker passes the sender's traceparent on to the flow API", async () => {
    const SENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const api = await new FakeFlowApi().start();
    try {
      const t = buildApp({ files: FILES, flowBaseUrl: api.url });
      const res = await request(t.app)
        .post('/hooks/async')
        .set('X-Token', 'tok')
        .set('traceparent', SENT)
        .type('json')
        .send('{"n":1}');
      expect(res.status).toBe(202);
      // The worker's claim reads no headers: the traceparent is kept with the delivery.
      expect((await t.store.get(res.body.deliveryId))?.traceContext).toBe(SENT);
      startWorker(t, api.url);
      await until(() => api.requests.length === 1, 5000);
      expect(api.requests[0]?.headers.traceparent).toBe(SENT);
    } finally {
      await api.stop();
    }
  });

  it('each claim of the worker holds under a new name: a run that outlived its lease is told it lost it', async () => {
    const api = await new FakeFlowApi().start();
    api.answerAfter(500);
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const res = await post(t, 'async', { n: 1 });
    const logs = memoryLogger();
    worker = createDeliveryWorker({
      store: t.store,
      client: createFlowClient({ baseUrl: api.url, token: 't', timeoutMs: 2000 }),
      policy: fast,
      logger: logs.logger,
      concurrency: 4,
      pollMs: 20,
      // A lease shorter than the call: the same worker claims it again meanwhile.
      leases: createLeases({ flowTimeoutMs: 2000, leaseMs: 300, processName: 'test-worker' }),
    });
    worker.start();
    const holders = new Set<string>();
    await until(async () => {
      const current = await t.store.get(res.body.deliveryId);
      if (current?.lease) holders.add(current.lease.owner);
      return logs.text().includes('delivery lease lost during the attempt');
    }, 3000);
    // Two claims by one process, two names: the first run's outcome was not applied.
    expect(holders.size).toBeGreaterThanOrEqual(2);
    for (const owner of holders) expect(owner).toMatch(/^test-worker#\d+$/);
    await worker.stop(2000);
    await api.stop();
  });

  it('the flow API refusing connections, then answering 503, during 500 deliveries: after it recovers, each ran exactly once', async () => {
    const down = await refusingUrl();
    const port = Number(new URL(down).port);
    const t = buildApp({ files: FILES, flowBaseUrl: down });
    const ids: string[] = [];
    for (let i = 0; i < 500; i += 50) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, (_, j) => post(t, 'async', { n: i + j })),
      );
      ids.push(...batch.map((res) => res.body.deliveryId as string));
    }
    expect(new Set(ids).size).toBe(500);
    startWorker(t, down);
    // Refused for a while: until the worker has recorded a refused connection (it claims the
    // oldest first)…
    await until(
      async () =>
        (await t.store.get(ids[0]))?.attempts.some(
          (a) => a.error?.code === 'upstream_unreachable',
        ) === true,
      30_000,
      'a refused connection recorded',
    );
    const api = new FakeFlowApi();
    api.answer(503, { error: 'maintenance' });
    await api.start(port);
    // … then answered 503 for a while.
    await until(() => api.requests.some((r) => r.status === 503), 30_000, 'a 503 answered');
    api.answer(200);
    await until(async () => (await t.store.counts()).succeeded === 500, 60_000);
    // At the fake flow API: every delivery's variables were answered 200 exactly once.
    const executions = new Map<number, number>();
    for (const call of api.requests.filter((r) => r.status === 200)) {
      const n = (call.body as { n: number }).n;
      executions.set(n, (executions.get(n) ?? 0) + 1);
    }
    expect(executions.size).toBe(500);
    expect([...executions.values()].filter((count) => count !== 1)).toEqual([]);
    for (const id of ids) {
      const wins = (await t.store.get(id))?.attempts.filter((a) => a.outcome === 'succeeded') ?? [];
      expect(wins).toHaveLength(1);
    }
    await api.stop();
  }, 90_000);

  it('a 4xx from the flow API fails the delivery at once: no retry', async () => {
    const api = await new FakeFlowApi().start();
    api.answer(404);
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const res = await post(t, 'async', { n: 1 });
    startWorker(t, api.url);
    await until(async () => (await t.store.get(res.body.deliveryId))?.state === 'failed', 5000);
    // Failed is final, with no retry scheduled: the worker never claims it again (the store
    // contract's "a final state is never due"), so no waiting for a retry that cannot come.
    expect(await t.store.get(res.body.deliveryId)).toMatchObject({
      nextAttemptAt: null,
      attempts: [expect.objectContaining({ httpStatus: 404 })],
    });
    expect(api.requests).toHaveLength(1);
    expect((await t.store.get(res.body.deliveryId))?.lastError).toEqual({
      code: 'upstream_error',
      message: 'the flow API answered 404',
    });
    await api.stop();
  });

  it('retries run out: the delivery is dead after maxAttempts', async () => {
    const api = await new FakeFlowApi().start();
    api.answer(500);
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const res = await post(t, 'async', { n: 1 });
    startWorker(t, api.url, { ...fast, maxAttempts: 3 });
    await until(async () => (await t.store.get(res.body.deliveryId))?.state === 'dead', 5000);
    expect(api.requests).toHaveLength(3);
    expect((await t.store.get(res.body.deliveryId))?.attempts.map((a) => a.httpStatus)).toEqual([
      500, 500, 500,
    ]);
    await api.stop();
  });

  it('Retry-After from the flow API is honoured', async () => {
    const api = await new FakeFlowApi().start();
    api.answer(429, { error: 'slow down' }, { 'retry-after': '3' });
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    const res = await post(t, 'async', { n: 1 });
    startWorker(t, api.url);
    await until(async () => {
      const current = await t.store.get(res.body.deliveryId);
      return current?.state === 'queued' && current.attempts.length === 1;
    }, 5000);
    const record = await t.store.get(res.body.deliveryId);
    const attempt = record?.attempts[0];
    // The policy alone would retry within 20 ms; the flow API asked for 3 s.
    expect(record?.nextAttemptAt).toBeGreaterThanOrEqual((attempt?.startedAt ?? 0) + 3000);
    expect(attempt?.httpStatus).toBe(429);
    await api.stop();
  });
});
