import request from 'supertest';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { StoreFullError, type DeliveryStore } from '../../src/deliveries/types';
import { buildApp } from '../support/harness';
import { cleanup, newDelivery, tempDir } from './support';

const MiB = 1024 * 1024;

/** A delivery whose body is `bytes` long (base64 of random-looking text). */
function big(bytes: number, overrides: Parameters<typeof newDelivery>[0] = {}) {
  const body = Buffer.alloc(bytes, 'x');
  const base = newDelivery(overrides);
  return {
    ...base,
    request: {
      ...base.request,
      bodyBase64: body.toString('base64'),
      bodyBytes: body.length,
    },
  };
}

describe('STORE_MAX_SIZE: a full store refuses before accepting (issue 9, item 4)', () => {
  let dir: string;
  let store: DeliveryStore;
  beforeEach(() => {
    dir = tempDir();
    store = openSqliteStore({ dataDir: dir, maxBytes: MiB });
  });
  afterEach(async () => {
    await store.close();
    cleanup(dir);
  });

  it('creates until the cap, then rejects with StoreFullError and stores nothing; accepted deliveries still update; pruning makes room', async () => {
    const accepted: string[] = [];
    let refusal: unknown;
    for (let i = 0; i < 40 && refusal === undefined; i++) {
      const delivery = big(64 * 1024, { state: 'succeeded', receivedAt: 1000 + i });
      await store.create(delivery, 60_000).then(
        () => accepted.push(delivery.id),
        (error: unknown) => (refusal = error),
      );
    }
    expect(refusal).toBeInstanceOf(StoreFullError);
    expect(accepted.length).toBeGreaterThan(3);
    const total = Object.values(await store.counts()).reduce((a, b) => a + b, 0);
    expect(total).toBe(accepted.length);
    // Never after accepting: an accepted delivery records its attempts and answer.
    const written = await store.update(
      accepted[0],
      { answer: { status: 200, body: { ok: true } } },
      {
        attempts: [
          {
            startedAt: 1,
            durationMs: 1,
            route: 'push',
            flowId: 'flow-1',
            outcome: 'succeeded',
            httpStatus: 200,
          },
        ],
      },
    );
    expect(written.attempts).toHaveLength(1);
    // Pruned pages are reused: room again.
    expect(await store.prune(10_000, 500)).toBe(accepted.length);
    await expect(store.create(big(64 * 1024), 60_000)).resolves.toMatchObject({ created: true });
  });

  it('a repeat of a stored delivery is still answered when the store is full (it stores nothing)', async () => {
    const first = big(16 * 1024, { idempotencyKey: 'evt-1' });
    await store.create(first, 60_000);
    let full = false;
    for (let i = 0; i < 80 && !full; i++) {
      await store.create(big(64 * 1024), 60_000).catch(() => (full = true));
    }
    expect(full).toBe(true);
    const again = await store.create(big(16 * 1024, { idempotencyKey: 'evt-1' }), 60_000);
    expect(again).toMatchObject({ created: false, existing: { id: first.id } });
  });

  it('over HTTP: 503 store_unavailable with Retry-After and no deliveryId; nothing ran', async () => {
    const t = buildApp({
      files: {
        'open.yaml': `
verify: { provider: none }
rateLimit: off
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`,
      },
      store,
    });
    const body = JSON.stringify({ n: 1, pad: 'p'.repeat(100 * 1024) });
    let refused: request.Response | undefined;
    for (let i = 0; i < 40 && refused === undefined; i++) {
      const res = await request(t.app).post('/hooks/open').type('json').send(body);
      if (res.status !== 200) refused = res;
    }
    expect(refused?.status).toBe(503);
    expect(refused?.headers['retry-after']).toBe('5');
    expect(refused?.body).toEqual({ code: 'store_unavailable', error: expect.any(String) });
    const line = t.logs.lines().find((l) => l.msg === 'the delivery store failed');
    expect(line?.err).toMatchObject({ type: 'StoreFullError' });
  });
});

describe('a refused request keeps only the start of its body (issue 9, item 4)', () => {
  const FILES = {
    'form.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
routes: [{ name: r, flow: f, variables: { n: { path: $.n, required: true } } }]
`,
  };
  const body = JSON.stringify({ pad: 'p'.repeat(20_000) });

  it.each([
    ['REFUSED_BODY_LIMIT=8kb (the default)', 8192, 8192],
    ['REFUSED_BODY_LIMIT=1kb', 1024, 1024],
  ])('%s: a 422 stores that much, marked truncated', async (_label, limit, kept) => {
    const t = buildApp({
      files: FILES,
      config: { refusedBodyLimit: limit },
    });
    const res = await request(t.app)
      .post('/hooks/form')
      .set('X-Token', 'tok')
      .type('json')
      .send(body);
    expect(res.status).toBe(422);
    const stored = await t.store.get(res.body.deliveryId);
    expect(stored?.request).toMatchObject({ bodyBytes: body.length, bodyTruncated: true });
    expect(Buffer.from(stored!.request.bodyBase64, 'base64').toString()).toBe(body.slice(0, kept));
  });

  it('a delivery that runs keeps its whole body (for replay)', async () => {
    const t = buildApp({ files: FILES, config: { refusedBodyLimit: 1024 } });
    const full = JSON.stringify({ n: 1, pad: 'p'.repeat(20_000) });
    const res = await request(t.app)
      .post('/hooks/form')
      .set('X-Token', 'tok')
      .type('json')
      .send(full);
    expect(res.status).toBe(200);
    const stored = await t.store.get(res.body.deliveryId);
    expect(stored?.request.bodyTruncated).toBe(false);
    expect(Buffer.from(stored!.request.bodyBase64, 'base64').toString()).toBe(full);
  });
});
