import { randomUUID } from 'node:crypto';
import request from 'supertest';
import { createApp } from '../../src/http/create-app';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { loadMappings } from '../../src/mappings/load-mappings';
import type { MappingSet } from '../../src/mappings/types';
import { until } from '../support/until';
import { FakeFlowApi } from '../support/fake-flow-api';
import {
  buildApp,
  githubSignature,
  mappingsDir,
  memoryLogger,
  ORG,
  testStore,
  TOKEN,
  type TestApp,
} from '../support/harness';

const ADMIN = 'admin-token-0123456789-abcdef';
/** A recognisable secret: it must never come out of the admin API. */
const SECRET = 'orders-secret-DO-NOT-LEAK-7f3a9c';
const ENV = { ORDERS_SECRET: SECRET };

const ORDERS_V1 = `
source: orders
verify:
  provider: github
  secret: \${ORDERS_SECRET}
routes:
  - name: created
    when: [{ header: X-Event, equals: created }]
    flow: order-created
    variables:
      id: { path: $.id, required: true }
  - name: paid
    when: [{ header: X-Event, equals: paid }]
    flow: order-paid
    org: billing-org
    variables:
      id: $.id
      amount: $.amount
`;
const FILES = {
  'orders.yaml': ORDERS_V1,
  'later.yaml': `
verify: { provider: github, secret: '\${NOT_SET_YET}' }
routes: [{ name: r, flow: f }]
`,
  'open.yaml': `
verify: { provider: none }
routes: [{ name: everything, flow: catch-all }]
`,
  'broken.yaml': `
verify: { provider: none }
routes: [{ name: r, flow: f, when: [{ path: $.a, equal: b }] }]
`,
};

const auth = (r: request.Test) => r.set('Authorization', `Bearer ${ADMIN}`);

function postOrder(
  app: TestApp['app'],
  event: string,
  payload: unknown,
  options: { delivery?: string; raw?: Buffer } = {},
) {
  const body = options.raw ?? Buffer.from(JSON.stringify(payload));
  return request(app)
    .post('/hooks/orders')
    .set('Content-Type', 'application/json')
    .set('X-Event', event)
    .set('X-GitHub-Delivery', options.delivery ?? randomUUID())
    .set('X-Hub-Signature-256', githubSignature(SECRET, body))
    .serialize((data: unknown) => data as string) // the bytes as given, never re-serialized
    .send(body);
}

describe('admin API (/api/*)', () => {
  let api: FakeFlowApi;

  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());
  beforeEach(() => api.reset());

  const adminApp = (options: { now?: () => number; onQueued?: () => void } = {}) =>
    buildApp({
      files: FILES,
      env: ENV,
      flowBaseUrl: api.url,
      timeoutMs: 1000,
      config: { adminToken: ADMIN },
      ...options,
    });

  describe('without ADMIN_TOKEN', () => {
    it.each([
      ['GET', '/api/deliveries'],
      ['GET', `/api/deliveries/${randomUUID()}`],
      ['POST', `/api/deliveries/${randomUUID()}/replay`],
      ['GET', '/api/sources'],
    ])('%s %s does not exist: 404 not_found, even with a bearer token', async (method, path) => {
      const t = buildApp({ files: FILES, env: ENV, flowBaseUrl: api.url });
      const res = await auth(
        method === 'GET' ? request(t.app).get(path) : request(t.app).post(path),
      );
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
      expect(res.headers['www-authenticate']).toBeUndefined();
    });
  });

  describe('the token', () => {
    let t: TestApp;
    beforeAll(() => {
      t = adminApp();
    });

    it.each([
      ['no Authorization header', undefined],
      ['the wrong scheme', `Basic ${Buffer.from(`admin:${ADMIN}`).toString('base64')}`],
      ['the token without a scheme', ADMIN],
      ['an empty bearer', 'Bearer '],
      ['a wrong token of the same length', `Bearer ${ADMIN.slice(0, -1)}x`],
      ['a token of a different length', 'Bearer short'],
      ['the token with something appended', `Bearer ${ADMIN}0`],
      ['a prefix of the token', `Bearer ${ADMIN.slice(0, 16)}`],
      ['two tokens', `Bearer ${ADMIN} ${ADMIN}`],
    ])('%s → 401 unauthorized with WWW-Authenticate: Bearer', async (_name, header) => {
      for (const path of ['/api/deliveries', '/api/sources', '/api/anything']) {
        const req = request(t.app).get(path);
        const res = await (header === undefined ? req : req.set('Authorization', header));
        expect(res.status).toBe(401);
        expect(res.body).toEqual({ error: expect.any(String), code: 'unauthorized' });
        expect(res.headers['www-authenticate']).toMatch(/^Bearer\b/);
        expect(res.text).not.toContain(ADMIN);
      }
      const replay = request(t.app).post(`/api/deliveries/${randomUUID()}/replay`);
      const res = await (header === undefined ? replay : replay.set('Authorization', header));
      expect(res.status).toBe(401);
    });

    it('the right token is accepted, whatever the case of the scheme', async () => {
      for (const scheme of ['Bearer', 'bearer', 'BEARER']) {
        const res = await request(t.app)
          .get('/api/deliveries')
          .set('Authorization', `${scheme} ${ADMIN}`);
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-store');
      }
    });

    it('an unknown /api path is 404 once authorized (and 401 before)', async () => {
      const res = await auth(request(t.app).get('/api/nope'));
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('not_found');
    });

    it('the hook route and /healthz need no admin token', async () => {
      expect((await request(t.app).get('/healthz')).status).toBe(200);
      expect((await postOrder(t.app, 'created', { id: 'o-1' })).status).toBe(200);
    });
  });

  describe('validation: a bad input is 400 invalid_request naming the parameter', () => {
    let t: TestApp;
    beforeAll(() => {
      t = adminApp();
    });

    it.each([
      ['status=bogus', 'status', /one of queued, running, succeeded, failed, dead, ignored/],
      ['status=DEAD', 'status', /one of/],
      ['status=dead&status=failed', 'status', /once/],
      ['limit=0', 'limit', /1 to 500/],
      ['limit=501', 'limit', /1 to 500/],
      ['limit=abc', 'limit', /1 to 500/],
      ['limit=1.5', 'limit', /1 to 500/],
      ['limit=', 'limit', /1 to 500/],
      ['since=yesterday', 'since', /ISO 8601/],
      ['since=2024-02-30', 'since', /ISO 8601/],
      ['since=2024-13-01', 'since', /ISO 8601/],
      ['since=2024-05-01T25:00:00Z', 'since', /ISO 8601/],
      ['since=-5', 'since', /ISO 8601/],
      ['since=99999999999999999', 'since', /ISO 8601/],
      ['cursor=not%20a%20cursor', 'cursor', /nextCursor/],
      ['cursor=abc', 'cursor', /nextCursor/],
      [`cursor=${Buffer.from('[1,2]').toString('base64url')}`, 'cursor', /nextCursor/],
      ['source=', 'source', /1 to 200/],
      [`route=${'r'.repeat(201)}`, 'route', /1 to 200/],
      ['state=dead', 'state', /not a parameter/],
    ])('GET /api/deliveries?%s → 400 naming %s', async (query, name, message) => {
      const res = await auth(request(t.app).get(`/api/deliveries?${query}`));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'invalid_request',
        error: expect.stringContaining(`query parameter ${name}:`),
        parameters: [{ name, in: 'query', message: expect.stringMatching(message) }],
      });
    });

    it('several bad inputs are all named', async () => {
      const res = await auth(request(t.app).get('/api/deliveries?limit=0&status=x&since=y'));
      expect(res.status).toBe(400);
      expect(res.body.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
        'limit',
        'since',
        'status',
      ]);
    });

    it.each([
      ['GET', '/api/deliveries/not-a-uuid'],
      ['GET', '/api/deliveries/123'],
      ['POST', '/api/deliveries/not-a-uuid/replay'],
      ['POST', `/api/deliveries/${randomUUID()}x/replay`],
    ])('%s %s → 400 naming id', async (method, path) => {
      const res = await auth(
        method === 'GET' ? request(t.app).get(path) : request(t.app).post(path),
      );
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        code: 'invalid_request',
        error: expect.stringContaining('path parameter id:'),
        parameters: [{ name: 'id', in: 'params', message: expect.stringMatching(/UUID/) }],
      });
    });

    it.each([
      ['limit=1', 1],
      ['limit=500', 500],
      ['since=2024-05-01', 0],
      ['since=2024-05-01T10:00', 0],
      ['since=2024-05-01T10:00:00.5%2B02:00', 0],
      ['since=1714521600000', 0],
      ['status=dead&source=orders&route=paid', 0],
    ])('GET /api/deliveries?%s is accepted', async (query) => {
      const res = await auth(request(t.app).get(`/api/deliveries?${query}`));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({ items: expect.any(Array), nextCursor: null });
    });
  });

  describe('GET /api/deliveries over real deliveries', () => {
    const T0 = Date.parse('2024-05-01T00:00:00Z');
    let clock = T0;
    let t: TestApp;
    /** Ids in the order they were received. */
    const ids: Record<string, string> = {};

    beforeAll(async () => {
      t = adminApp({ now: () => clock });
      const send = async (name: string, event: string, payload: unknown) => {
        clock += 60_000;
        const res = await postOrder(t.app, event, payload);
        ids[name] = res.body.deliveryId;
        return res;
      };
      expect((await send('c1', 'created', { id: 'o-1' })).status).toBe(200);
      expect((await send('c2', 'created', { id: 'o-2' })).status).toBe(200);
      expect((await send('p1', 'paid', { id: 'o-1', amount: 12 })).status).toBe(200);
      expect((await send('ignored', 'shipped', { id: 'o-1' })).status).toBe(202);
      expect((await send('missing', 'created', { nope: true })).status).toBe(422);
      api.answer(400);
      expect((await send('refused', 'created', { id: 'o-3' })).status).toBe(502);
      api.answer(200);
      expect((await send('c3', 'created', { id: 'o-4' })).status).toBe(200);
    });

    const list = async (query = '') => {
      const res = await auth(request(t.app).get(`/api/deliveries${query}`));
      expect(res.status).toBe(200);
      return res.body as { items: Record<string, unknown>[]; nextCursor: string | null };
    };
    const idsOf = (page: { items: Record<string, unknown>[] }) => page.items.map((i) => i.id);

    it('lists every delivery newest first, as summaries without the request', async () => {
      const page = await list();
      expect(idsOf(page)).toEqual(
        ['c3', 'refused', 'missing', 'ignored', 'p1', 'c2', 'c1'].map((n) => ids[n]),
      );
      expect(page.nextCursor).toBeNull();
      expect(page.items[4]).toEqual({
        id: ids.p1,
        source: 'orders',
        state: 'succeeded',
        mode: 'sync',
        dryRun: false,
        receivedAt: new Date(T0 + 3 * 60_000).toISOString(),
        updatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        routes: [{ route: 'paid', flowId: 'order-paid' }],
        attempts: 1,
        lastError: null,
        idempotencyKey: expect.any(String),
        nextAttemptAt: null,
      });
      expect(page.items[1]).toMatchObject({
        state: 'failed',
        attempts: 1,
        lastError: { code: 'upstream_error', message: expect.stringContaining('400') },
      });
      // Refused on receipt (422): nothing ran, and the reason is in lastError too (issue 10).
      expect(page.items[2]).toMatchObject({
        id: ids.missing,
        state: 'failed',
        attempts: 0,
        lastError: { code: 'missing_variables', message: expect.stringContaining('id') },
      });
      for (const item of page.items) {
        expect(item).not.toHaveProperty('request');
        expect(JSON.stringify(item)).not.toContain('o-1'); // no body, no variables
      }
    });

    it.each([
      ['?status=succeeded', ['c3', 'p1', 'c2', 'c1']],
      ['?status=failed', ['refused', 'missing']],
      ['?status=ignored', ['ignored']],
      ['?status=dead', []],
      ['?source=orders&status=ignored', ['ignored']],
      ['?source=other', []],
      ['?route=paid', ['p1']],
      ['?route=created', ['c3', 'refused', 'c2', 'c1']],
      ['?route=created&status=failed', ['refused']],
      [`?since=${T0 + 5 * 60_000}`, ['c3', 'refused', 'missing']],
      [`?since=${new Date(T0 + 6 * 60_000).toISOString()}`, ['c3', 'refused']],
      ['?since=2024-05-02', []],
    ])('filter %s', async (query, names) => {
      expect(idsOf(await list(query))).toEqual(names.map((n) => ids[n]));
    });

    it('pages with limit and cursor: every delivery once, in order, then no cursor', async () => {
      const seen: unknown[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const query: string = `?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
        const page = await list(query);
        expect(page.items.length).toBeLessThanOrEqual(2);
        seen.push(...idsOf(page));
        cursor = page.nextCursor;
        pages += 1;
      } while (cursor !== null);
      expect(pages).toBe(4);
      expect(seen).toEqual(idsOf(await list()));
    });

    it('a cursor keeps its filters: status=succeeded by twos', async () => {
      const first = await list('?status=succeeded&limit=2');
      expect(idsOf(first)).toEqual([ids.c3, ids.p1]);
      const second = await list(`?status=succeeded&limit=2&cursor=${first.nextCursor}`);
      expect(idsOf(second)).toEqual([ids.c2, ids.c1]);
      expect(second.nextCursor).toBeNull();
    });

    it('limit defaults to 50', async () => {
      expect((await list()).items).toHaveLength(7);
    });

    it('GET /api/deliveries/:id: the whole record with its attempts and the body', async () => {
      const res = await auth(request(t.app).get(`/api/deliveries/${ids.p1}`));
      expect(res.status).toBe(200);
      const body = JSON.stringify({ id: 'o-1', amount: 12 });
      expect(res.body).toEqual({
        id: ids.p1,
        source: 'orders',
        state: 'succeeded',
        mode: 'sync',
        dryRun: false,
        receivedAt: new Date(T0 + 3 * 60_000).toISOString(),
        updatedAt: expect.any(String),
        idempotencyKey: expect.any(String),
        mappingVersion: t.mappings.sources.get('orders')?.version,
        request: {
          method: 'POST',
          url: '/hooks/orders',
          headers: expect.objectContaining({
            'content-type': 'application/json',
            'x-event': 'paid',
            'x-hub-signature-256': '[redacted]',
          }),
          bodyBytes: Buffer.byteLength(body),
          bodyTruncated: false,
          bodyBase64: Buffer.from(body).toString('base64'),
          bodyText: body,
        },
        routes: [
          {
            route: 'paid',
            flowId: 'order-paid',
            orgId: 'billing-org',
            variables: { id: 'o-1', amount: 12 },
          },
        ],
        answer: { status: 200, body: expect.objectContaining({ sessionId: expect.any(String) }) },
        attempts: [
          {
            number: 1,
            startedAt: new Date(T0 + 3 * 60_000).toISOString(),
            durationMs: 0,
            route: 'paid',
            flowId: 'order-paid',
            outcome: 'succeeded',
            httpStatus: 200,
            sessionId: expect.stringMatching(/^session-/),
            error: null,
          },
        ],
        lastError: null,
        nextAttemptAt: null,
        explanation: expect.objectContaining({
          matched: ['paid'],
          executions: [expect.objectContaining({ route: 'paid' })],
        }),
        lease: null,
        lateAnswer: null,
      });
      expect(res.text).not.toContain(SECRET);
    });

    it('GET /api/deliveries/:id of an unknown id → 404 delivery_not_found', async () => {
      const id = randomUUID();
      const res = await auth(request(t.app).get(`/api/deliveries/${id}`));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({
        error: `no delivery with id ${id}`,
        code: 'delivery_not_found',
      });
    });
  });

  it('a body that is not UTF-8 is given as base64 only', async () => {
    const t = adminApp();
    const raw = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]);
    const sent = await postOrder(t.app, 'created', undefined, { raw });
    expect(sent.status).toBe(400);
    const res = await auth(request(t.app).get(`/api/deliveries/${sent.body.deliveryId}`));
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('failed');
    expect(res.body.request.bodyBase64).toBe(raw.toString('base64'));
    expect(res.body.request).not.toHaveProperty('bodyText');
  });

  describe('POST /api/deliveries/:id/replay', () => {
    it('failed with 400 from the flow API → fixed → replay: succeeded, a new attempt recorded', async () => {
      const t = adminApp();
      api.answer(400, { error: 'missing required variable customer' });
      const first = await postOrder(t.app, 'created', { id: 'o-9' });
      expect(first.status).toBe(502);
      const id = first.body.deliveryId as string;
      expect((await t.store.get(id))?.state).toBe('failed');

      api.answer(200);
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        deliveryId: id,
        state: 'succeeded',
        mappingVersion: t.mappings.sources.get('orders')?.version,
        attempts: [
          {
            number: 2,
            startedAt: expect.any(String),
            durationMs: expect.any(Number),
            route: 'created',
            flowId: 'order-created',
            outcome: 'succeeded',
            httpStatus: 200,
            sessionId: expect.stringMatching(/^session-\d+$/),
            error: null,
          },
        ],
        results: [
          {
            route: 'created',
            flowId: 'order-created',
            sessionId: expect.stringMatching(/^session-\d+$/),
            result: 'Execution completed',
          },
        ],
      });
      expect(res.body.results[0].sessionId).toBe(res.body.attempts[0].sessionId);
      // The same execute call again, with the same variables.
      expect(api.requests).toHaveLength(2);
      expect(api.requests[1].path).toBe(api.requests[0].path);
      expect(api.requests[1].body).toEqual({ id: 'o-9' });
      expect(api.requests[1].headers.authorization).toBe(`Bearer ${TOKEN}`);

      const record = await t.store.get(id);
      expect(record).toMatchObject({ state: 'succeeded', lastError: null, lease: null });
      expect(record?.attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded']);
      // What the sender was told stays what it was (an idempotent repeat still gets it).
      expect(record?.answer?.status).toBe(502);

      const detail = await auth(request(t.app).get(`/api/deliveries/${id}`));
      expect(detail.body.attempts).toHaveLength(2);
      const listed = await auth(request(t.app).get('/api/deliveries?status=succeeded'));
      expect(listed.body.items.map((i: { id: string }) => i.id)).toContain(id);
    });

    it('a replay that fails in a way that may pass → 202, queued for a retry, the worker woken', async () => {
      let woken = 0;
      const t = adminApp({ onQueued: () => (woken += 1) });
      const first = await postOrder(t.app, 'created', { id: 'o-10' });
      expect(first.status).toBe(200);
      api.answer(503);
      const res = await auth(
        request(t.app).post(`/api/deliveries/${first.body.deliveryId}/replay`),
      );
      expect(res.status).toBe(202);
      expect(res.body).toMatchObject({
        state: 'queued',
        nextAttemptAt: expect.any(String),
        attempts: [{ number: 2, outcome: 'failed', httpStatus: 503 }],
        results: [
          { route: 'created', error: { code: 'upstream_error', upstream: { status: 503 } } },
        ],
      });
      expect(woken).toBe(1);
      expect(await t.store.get(first.body.deliveryId)).toMatchObject({
        state: 'queued',
        lease: null,
      });
    });

    it('a replay refused by the flow API again → 200 with state failed', async () => {
      const t = adminApp();
      api.answer(404);
      const first = await postOrder(t.app, 'created', { id: 'o-11' });
      const res = await auth(
        request(t.app).post(`/api/deliveries/${first.body.deliveryId}/replay`),
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        state: 'failed',
        attempts: [{ number: 2, outcome: 'failed', httpStatus: 404 }],
      });
    });

    it('an unknown id → 404 delivery_not_found, and nothing runs', async () => {
      const t = adminApp();
      const id = randomUUID();
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(404);
      expect(res.body).toEqual({ error: `no delivery with id ${id}`, code: 'delivery_not_found' });
      expect(api.requests).toHaveLength(0);
    });

    it('a delivery running right now → 409 delivery_running; two replays at once run once', async () => {
      const t = adminApp();
      const first = await postOrder(t.app, 'created', { id: 'o-12' });
      const id = first.body.deliveryId as string;
      api.answerAfter(300);
      const [a, b] = await Promise.all([
        auth(request(t.app).post(`/api/deliveries/${id}/replay`)),
        // The second once the first is running: its call has reached the flow API.
        until(() => api.requests.length === 2, 5000, 'the first replay to run').then(() =>
          auth(request(t.app).post(`/api/deliveries/${id}/replay`)),
        ),
      ]);
      expect(a.status).toBe(200);
      expect(b.status).toBe(409);
      expect(b.body.code).toBe('delivery_running');
      expect(api.requests).toHaveLength(2); // the first delivery, and one replay
      expect((await t.store.get(id))?.attempts).toHaveLength(2);
    });

    it('two replays at the same instant: both read it idle, one claims it, the other → 409', async () => {
      const t = adminApp();
      const first = await postOrder(t.app, 'created', { id: 'o-12b' });
      const id = first.body.deliveryId as string;
      api.answerAfter(100);
      const answers = await Promise.all(
        [1, 2, 3].map(() => auth(request(t.app).post(`/api/deliveries/${id}/replay`))),
      );
      expect(answers.map((a) => a.status).sort()).toEqual([200, 409, 409]);
      expect(answers.filter((a) => a.status === 409).map((a) => a.body.code)).toEqual([
        'delivery_running',
        'delivery_running',
      ]);
      expect(api.requests).toHaveLength(2); // the first delivery, and one replay
    });

    it('a delivery refused with 422 on receipt runs after the mapping is fixed', async () => {
      let current: MappingSet = loadMappings(mappingsDir({ 'orders.yaml': ORDERS_V1 }), ENV);
      const t = swappableApp(() => current);
      const first = await postOrder(t.app, 'created', { orderId: 'o-13' });
      expect(first.status).toBe(422);
      const id = first.body.deliveryId as string;
      expect(await t.store.get(id)).toMatchObject({ state: 'failed', routes: [] });

      // Replaying with the same mapping: refused the same way, the delivery stays as it was.
      const before = await t.store.get(id);
      const again = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(again.status).toBe(422);
      expect(again.body).toMatchObject({ code: 'missing_variables', variables: ['id'] });
      expect(await t.store.get(id)).toEqual(before);

      current = loadMappings(
        mappingsDir({ 'orders.yaml': ORDERS_V1.replace('path: $.id,', 'path: $.orderId,') }),
        ENV,
      );
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ state: 'succeeded', attempts: [{ number: 1 }] });
      expect(api.requests.map((r) => r.body)).toEqual([{ id: 'o-13' }]);
    });

    it('after the mapping file changed, the replay uses the current mapping', async () => {
      let current: MappingSet = loadMappings(mappingsDir({ 'orders.yaml': ORDERS_V1 }), ENV);
      const t = swappableApp(() => current);
      api.answer(500);
      const first = await postOrder(t.app, 'paid', { id: 'o-14', amount: 30, currency: 'EUR' });
      expect(first.status).toBe(202);
      const id = first.body.deliveryId as string;
      const v1 = current.sources.get('orders')?.version;
      expect(await t.store.get(id)).toMatchObject({ state: 'queued', mappingVersion: v1 });
      const earlier = (await t.store.get(id))?.attempts.length ?? 0;
      const calls = api.requests.length;

      current = loadMappings(
        mappingsDir({
          'orders.yaml': ORDERS_V1.replace('flow: order-paid', 'flow: order-paid-v2').replace(
            'amount: $.amount',
            'amount: $.amount\n      currency: $.currency',
          ),
        }),
        ENV,
      );
      const v2 = current.sources.get('orders')?.version;
      expect(v2).not.toBe(v1);
      api.answer(200);
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        state: 'succeeded',
        mappingVersion: v2,
        attempts: [{ number: earlier + 1, flowId: 'order-paid-v2', outcome: 'succeeded' }],
      });
      expect(api.requests).toHaveLength(calls + 1);
      const replayed = api.requests[calls];
      expect(replayed.path).toBe('/cgw/process/v1/orgs/billing-org/flows/order-paid-v2/execute');
      expect(replayed.body).toEqual({ id: 'o-14', amount: 30, currency: 'EUR' });
      expect(await t.store.get(id)).toMatchObject({
        mappingVersion: v2,
        routes: [
          {
            route: 'paid',
            flowId: 'order-paid-v2',
            orgId: 'billing-org',
            variables: { id: 'o-14', amount: 30, currency: 'EUR' },
          },
        ],
      });
    });

    it.each([
      [
        'no route matches now → 422 no_route_matched',
        () => ORDERS_V1.replace('equals: paid', 'equals: settled'),
        422,
        'no_route_matched',
      ],
      ['the source is gone → 404 unknown_source', () => undefined, 404, 'unknown_source'],
      [
        'the source is disabled → 503 source_disabled',
        () => ORDERS_V1.replace('ORDERS_SECRET', 'ORDERS_SECRET_UNSET'),
        503,
        'source_disabled',
      ],
    ])('%s; the delivery stays as it was', async (_name, next, status, code) => {
      let current: MappingSet = loadMappings(mappingsDir({ 'orders.yaml': ORDERS_V1 }), ENV);
      const t = swappableApp(() => current);
      const first = await postOrder(t.app, 'paid', { id: 'o-15', amount: 1 });
      const id = first.body.deliveryId as string;
      const before = await t.store.get(id);
      const text = next();
      current = loadMappings(
        mappingsDir(
          text === undefined ? { 'other.yaml': FILES['open.yaml'] } : { 'orders.yaml': text },
        ),
        ENV,
      );
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      expect(res.text).not.toContain(SECRET);
      expect(await t.store.get(id)).toEqual(before);
      expect(api.requests).toHaveLength(1);
    });

    it('a body stored truncated cannot be replayed → 409 not_replayable', async () => {
      const t = adminApp();
      const id = randomUUID();
      t.store.create(
        {
          id,
          source: 'orders',
          idempotencyKey: null,
          mode: 'async',
          state: 'dead',
          receivedAt: Date.now(),
          mappingVersion: 'old',
          request: {
            method: 'POST',
            url: '/hooks/orders',
            headers: { 'content-type': 'application/json', 'x-event': 'created' },
            bodyBase64: Buffer.from('{"id":').toString('base64'),
            bodyBytes: 5_000_000,
            bodyTruncated: true,
          },
          routes: [],
        },
        0,
      );
      const res = await auth(request(t.app).post(`/api/deliveries/${id}/replay`));
      expect(res.status).toBe(409);
      expect(res.body.code).toBe('not_replayable');
      expect((await t.store.get(id))?.state).toBe('dead');
    });

    it('dry-run: a replay logs the execute call and records a dry-run session', async () => {
      const t = buildApp({ files: FILES, env: ENV, config: { adminToken: ADMIN } });
      const first = await postOrder(t.app, 'created', { id: 'o-16' });
      expect(first.status).toBe(200);
      // Marked dry-run in the delivery log, before and after the replay (issue 10 item 4).
      const stored = await auth(request(t.app).get(`/api/deliveries/${first.body.deliveryId}`));
      expect(stored.body).toMatchObject({ state: 'succeeded', dryRun: true, attempts: [] });
      const res = await auth(
        request(t.app).post(`/api/deliveries/${first.body.deliveryId}/replay`),
      );
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        state: 'succeeded',
        attempts: [{ number: 1, sessionId: 'dry-run' }],
      });
      const list = await auth(request(t.app).get('/api/deliveries'));
      expect(list.body.items).toEqual([
        expect.objectContaining({ id: first.body.deliveryId, dryRun: true, attempts: 1 }),
      ]);
      expect(api.requests).toHaveLength(0);
      expect(t.logs.text()).toContain('dry-run: the execute call that would have been made');
    });

    /** createApp with a mapping set the test swaps (buildApp's is fixed). */
    function swappableApp(mappings: () => MappingSet) {
      const logs = memoryLogger();
      const store = testStore();
      const app = createApp({
        config: { bodyLimit: 1024 * 1024, flowOrgId: ORG, dryRun: false, adminToken: ADMIN },
        logger: logs.logger,
        mappings,
        flowClient: createFlowClient({ baseUrl: api.url, token: TOKEN, timeoutMs: 1000 }),
        store,
      });
      return { app, store, logs };
    }
  });

  describe('GET /api/sources', () => {
    it('loaded sources, disabled ones with reasons, load errors and warnings; never a secret', async () => {
      const t = adminApp();
      const res = await auth(request(t.app).get('/api/sources'));
      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        sources: expect.arrayContaining([
          {
            name: 'orders',
            file: 'orders.yaml',
            version: t.mappings.sources.get('orders')?.version,
            provider: 'github',
            mode: 'sync',
            dispatch: 'first',
            paused: false,
            routes: [
              { name: 'created', flowId: 'order-created', orgId: ORG, limits: null },
              { name: 'paid', flowId: 'order-paid', orgId: 'billing-org', limits: null },
            ],
          },
          expect.objectContaining({ name: 'open', provider: 'none' }),
        ]),
        disabled: [
          {
            name: 'broken',
            files: ['broken.yaml'],
            reason: expect.stringContaining('unknown key "equal"'),
            cause: 'invalid',
          },
          {
            name: 'later',
            files: ['later.yaml'],
            reason: 'disabled until NOT_SET_YET is set',
            cause: 'missing-env',
          },
        ],
        errors: [
          expect.objectContaining({
            file: 'broken.yaml',
            message: expect.stringContaining('equal'),
            path: expect.stringContaining('equal'),
          }),
        ],
        warnings: [expect.objectContaining({ file: 'open.yaml' })],
      });
      expect(res.body.sources).toHaveLength(2);
      // The compiled verify block holds the secret: it must never be serialized.
      expect(t.mappings.sources.get('orders')?.verifySpec.secrets).toEqual([SECRET]);
      expect(res.text).not.toContain(SECRET);
      expect(res.text).not.toContain('verifySpec');
      expect(res.text).not.toContain('secrets');
    });
  });
});
