import request from 'supertest';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, type TestApp } from '../support/harness';

const FILES = {
  'orders.yaml': `
dispatch: all
replyWithin: 10s
verify: { provider: token, header: X-Token, secret: tok }
routes:
  - name: notify
    when: [{ path: $.total, gt: 0 }]
    flow: notify-flow
    variables: { order: $.id }
  - name: big-order
    when: [{ path: $.total, gte: 1000 }]
    flow: vip-flow
    variables: { order: $.id, total: { path: $.total, type: string } }
  - name: refund
    when: [{ path: $.total, lt: 0 }]
    flow: refund-flow
`,
  'typed.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
routes:
  - name: r
    flow: f
    variables:
      count: { path: $.count, type: number }
      flag: { path: $.flag, type: boolean }
`,
  'form.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
body: { jsonFields: [data] }
routes:
  - name: r
    flow: f
    variables: { id: $.data.id, payload: $.payload }
`,
};

const post = (t: TestApp, source: string, body: string, type = 'json') =>
  request(t.app).post(`/hooks/${source}`).set('X-Token', 'tok').type(type).send(body);

describe('dispatch: all (fan-out)', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    api.reset();
    t = buildApp({ files: FILES, flowBaseUrl: api.url });
  });

  it('every matching route runs; 200 lists each execution', async () => {
    const res = await post(t, 'orders', '{"id":"o-1","total":1500}');
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      deliveryId: expect.any(String),
      source: 'orders',
      executions: [
        {
          route: 'notify',
          flowId: 'notify-flow',
          sessionId: expect.any(String),
          result: 'Execution completed',
        },
        {
          route: 'big-order',
          flowId: 'vip-flow',
          sessionId: expect.any(String),
          result: 'Execution completed',
        },
      ],
    });
    expect(api.requests.map((r) => [r.path, r.body]).sort()).toEqual([
      ['/cgw/process/v1/orgs/org-1/flows/notify-flow/execute', { order: 'o-1' }],
      ['/cgw/process/v1/orgs/org-1/flows/vip-flow/execute', { order: 'o-1', total: '1500' }],
    ]);
    const line = t.logs.lines().find((l) => l.msg === 'hook request handled');
    expect(line).toMatchObject({ route: 'notify,big-order', flow: 'notify-flow,vip-flow' });
  });

  it('only the matching ones run', async () => {
    const res = await post(t, 'orders', '{"id":"o-2","total":20}');
    expect(res.body.executions.map((e: { route: string }) => e.route)).toEqual(['notify']);
    expect(api.requests).toHaveLength(1);
  });

  it('none matching → 202 ignored', async () => {
    const res = await post(t, 'orders', '{"id":"o-3","total":0}');
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('ignored');
  });

  it('a refused execution → 502 naming it, with every outcome listed', async () => {
    api.answer(400);
    const res = await post(t, 'orders', '{"id":"o-4","total":5000}');
    expect(res.status).toBe(502);
    expect(res.body).toMatchObject({
      code: 'executions_failed',
      error: '2 of 2 executions failed: notify, big-order',
      deliveryId: expect.any(String),
      executions: [
        { route: 'notify', error: { code: 'upstream_error', upstream: { status: 400 } } },
        { route: 'big-order', error: { code: 'upstream_error', upstream: { status: 400 } } },
      ],
    });
  });

  it('a retryable failure → 202 queued, with the attempt of each route recorded', async () => {
    // Retry-After past the reply budget: the retry is the worker's, whatever the machine's load.
    api.answer(503, undefined, { 'Retry-After': '60' });
    const queued = await post(t, 'orders', '{"id":"o-7","total":5000}');
    expect(queued.status).toBe(202);
    expect(queued.body.status).toBe('queued');
    const stored = await t.store.get(queued.body.deliveryId);
    expect(stored?.state).toBe('queued');
    expect(stored?.attempts.map((a) => [a.route, a.outcome, a.httpStatus]).sort()).toEqual([
      ['big-order', 'failed', 503],
      ['notify', 'failed', 503],
    ]);
  });

  it('dry-run lists the request each route would send', async () => {
    const dry = buildApp({ files: FILES });
    const res = await post(dry, 'orders', '{"id":"o-5","total":1000}');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({
      dryRun: true,
      executions: [
        {
          route: 'notify',
          request: { path: '/cgw/process/v1/orgs/org-1/flows/notify-flow/execute' },
        },
        { route: 'big-order', request: { body: { order: 'o-5', total: '1000' } } },
      ],
    });
  });
});

describe('variable types and JSON form fields through HTTP', () => {
  let api: FakeFlowApi;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());

  it('converted values are sent with their type', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    api.reset();
    const res = await post(t, 'typed', '{"count":"42","flag":"true"}');
    expect(res.status).toBe(200);
    expect(api.requests[0].body).toEqual({ count: 42, flag: true });
  });

  it('a value that cannot be converted → 422 invalid_variables naming it and why; no flow call', async () => {
    const t = buildApp({ files: FILES, flowBaseUrl: api.url });
    api.reset();
    const res = await post(t, 'typed', '{"count":"many","flag":"true"}');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'invalid_variables',
      variables: [{ name: 'count', reason: '"many" is not a number' }],
    });
    expect(api.requests).toHaveLength(0);
  });

  it('body.jsonFields names the form fields that hold JSON', async () => {
    const t = buildApp({ files: FILES });
    const res = await post(
      t,
      'form',
      `data=${encodeURIComponent('{"id":7}')}&payload=${encodeURIComponent('{"x":1}')}`,
      'form',
    );
    expect(res.status).toBe(200);
    // data is parsed; payload is not in this source's list, so it stays text.
    expect(res.body.request.body).toEqual({ id: 7, payload: '{"x":1}' });
  });
});
