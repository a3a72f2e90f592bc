import request from 'supertest';
import { openSqliteStore } from '../../src/deliveries/sqlite-store';
import { startServer } from '../../src/server';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, mappingsDir, memoryLogger, tempFolder } from '../support/harness';
import { until } from '../support/until';

const files = (replyWithin: string) => ({
  'slow.yaml': `
replyWithin: ${replyWithin}
verify: { provider: token, header: X-Token, secret: tok }
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`,
});

describe('sync with replyWithin', () => {
  let api: FakeFlowApi;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
  });
  afterEach(() => api.stop());

  it('a flow slower than replyWithin: 202 running, then succeeded in the store', async () => {
    // The flow ends when the test says so: no clock decides what "slower" means.
    api.hold();
    const t = buildApp({ files: files('200ms'), flowBaseUrl: api.url });
    const res = await request(t.app)
      .post('/hooks/slow')
      .set('X-Token', 'tok')
      .type('json')
      .send('{"n":1}');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId: expect.any(String), status: 'running' });
    // Answered while the flow call was still open (it reaches the flow API, and stays held).
    await until(() => api.requests.length === 1, 5000, 'the call to reach the flow API');
    expect(api.requests[0].status).toBeUndefined();
    api.release();
    await until(async () => (await t.store.get(res.body.deliveryId))?.state === 'succeeded', 5000);
    const record = await t.store.get(res.body.deliveryId);
    expect(record?.attempts).toMatchObject([{ outcome: 'succeeded', sessionId: 'session-1' }]);
    expect(record?.answer).toEqual({ status: 202, body: res.body }); // a repeat gets this answer
    expect(api.requests).toHaveLength(1);
  });

  it('a retry that falls inside the budget happens before the answer', async () => {
    api.answer(503);
    const t = buildApp({ files: files('4s'), flowBaseUrl: api.url });
    const pending = request(t.app)
      .post('/hooks/slow')
      .set('X-Token', 'tok')
      .type('json')
      .send('{"n":2}');
    const sent = pending.then((res) => res);
    await until(async () => api.requests.length === 1, 3000);
    api.answer(200);
    const res = await sent;
    expect(res.status).toBe(200);
    expect(res.body.sessionId).toEqual(expect.any(String));
    expect((await t.store.get(res.body.deliveryId))?.attempts.map((a) => a.httpStatus)).toEqual([
      503, 200,
    ]);
  });

  it('the budget ends between retries: 202 queued, and the retry is left to the worker', async () => {
    api.answer(503);
    let queued = 0;
    const t = buildApp({ files: files('300ms'), flowBaseUrl: api.url, onQueued: () => queued++ });
    const res = await request(t.app)
      .post('/hooks/slow')
      .set('X-Token', 'tok')
      .type('json')
      .send('{"n":3}');
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('queued');
    expect(await t.store.get(res.body.deliveryId)).toMatchObject({ state: 'queued', lease: null });
    expect(queued).toBe(1);
  });
});

describe('shutdown with a sync run that outlived its answer', () => {
  it('waits for it (within the grace) before closing the store: its outcome is recorded', async () => {
    const api = await new FakeFlowApi().start();
    api.answerAfter(600);
    const dataDir = tempFolder('flowhook-late-');
    const running = await startServer(
      {
        PORT: '0',
        HOST: '127.0.0.1',
        MAPPINGS_DIR: mappingsDir(files('100ms')),
        DATA_DIR: dataDir,
        FLOW_BASE_URL: api.url,
        FLOW_ORG_ID: 'org-1',
        FLOW_API_TOKEN: 'token-1',
        MAPPINGS_WATCH: 'off',
      },
      memoryLogger().logger,
    );
    try {
      const res = await request(`http://127.0.0.1:${running.port}`)
        .post('/hooks/slow')
        .set('X-Token', 'tok')
        .type('json')
        .send('{"n":1}');
      expect(res.body.status).toBe('running');
      await running.close(); // the call to the flow API is still going on
      expect(api.requests).toHaveLength(1);
      const store = openSqliteStore({ dataDir });
      const stored = await store.get(res.body.deliveryId);
      await store.close();
      // Recorded before the store closed: no lease left to expire, nothing to run again.
      expect(stored).toMatchObject({ state: 'succeeded', lease: null });
      expect(stored?.attempts).toMatchObject([{ outcome: 'succeeded' }]);
    } finally {
      await api.stop();
    }
  });
});
