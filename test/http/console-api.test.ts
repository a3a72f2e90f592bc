/**
 * Issue 13: the console's sign-in and the admin endpoints it uses, over supertest against
 * createApp() with a real SQLite store and the fake flow API.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import request from 'supertest';
import { SIGN_IN_FAILURES } from '../../src/http/console-session';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, githubSignature, type TestApp } from '../support/harness';
import { until } from '../support/until';

const ADMIN = 'admin-token-0123456789-abcdef';
const SECRET = 'orders-secret-value';
const ORDERS = `source: orders
verify:
  provider: github
  secret: \${ORDERS_SECRET}
routes:
  - name: created
    when:
      - path: $.action
        equals: created
    flow: order-created
    variables:
      id: { path: $.id, required: true }
`;

const bearer = (r: request.Test) => r.set('Authorization', `Bearer ${ADMIN}`);

describe('console sign-in and API (issue 13)', () => {
  let api: FakeFlowApi;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());
  afterEach(() => api.reset());

  const build = (config: Record<string, unknown> = {}, consoleDir?: string): TestApp =>
    buildApp({
      files: { 'orders.yaml': ORDERS },
      env: { ORDERS_SECRET: SECRET },
      flowBaseUrl: api.url,
      config: { adminToken: ADMIN, ...config },
      consoleDir,
    });

  const send = (t: TestApp, payload: unknown, delivery: string) => {
    const body = JSON.stringify(payload);
    return request(t.app)
      .post('/hooks/orders')
      .set('content-type', 'application/json')
      .set('x-github-event', 'order')
      .set('x-github-delivery', delivery)
      .set('x-hub-signature-256', githubSignature(SECRET, body))
      .send(body);
  };

  /** Signs in like the page does; returns the cookie and the Origin the page sends. */
  const signIn = async (t: TestApp) => {
    const agent = request.agent(t.app);
    const res = await agent
      .post('/api/session')
      .set('Host', 'console.test')
      .set('Origin', 'http://console.test')
      .send({ token: ADMIN });
    expect(res.status).toBe(200);
    return agent;
  };

  describe('sign-in', () => {
    it('exchanges the token for an HttpOnly SameSite=Strict cookie that expires; the API then answers', async () => {
      const t = build();
      const res = await request(t.app)
        .post('/api/session')
        .set('Host', 'console.test')
        .set('Origin', 'http://console.test')
        .send({ token: ADMIN });
      expect(res.status).toBe(200);
      const cookie = String(res.headers['set-cookie']);
      expect(cookie).toMatch(
        /^flowhook_session=[^;]+; Max-Age=43200; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Strict$/,
      );
      expect(cookie).not.toContain(ADMIN);
      const value = cookie.split(';')[0];
      const list = await request(t.app).get('/api/deliveries').set('Cookie', value);
      expect(list.status).toBe(200);
      expect(await request(t.app).get('/api/session').set('Cookie', value)).toMatchObject({
        body: { signedIn: true },
      });
      // A forged or altered cookie is nothing.
      const forged = value.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
      expect((await request(t.app).get('/api/deliveries').set('Cookie', forged)).status).toBe(401);
      expect((await request(t.app).get('/api/session').set('Cookie', forged)).body).toEqual({
        signedIn: false,
      });
    });

    it('is Secure behind HTTPS (trusted X-Forwarded-Proto)', async () => {
      const t = build({ trustProxy: true });
      const res = await request(t.app)
        .post('/api/session')
        .set('Host', 'console.test')
        .set('X-Forwarded-Proto', 'https')
        .set('Origin', 'https://console.test')
        .send({ token: ADMIN });
      expect(String(res.headers['set-cookie'])).toContain('; Secure');
    });

    it('a cookie past its 12 hours is refused', async () => {
      let now = Date.parse('2026-01-01T00:00:00Z');
      const t = buildApp({
        files: { 'orders.yaml': ORDERS },
        env: { ORDERS_SECRET: SECRET },
        config: { adminToken: ADMIN },
        now: () => now,
      });
      const res = await request(t.app)
        .post('/api/session')
        .set('Host', 'h')
        .set('Origin', 'http://h')
        .send({ token: ADMIN });
      const cookie = String(res.headers['set-cookie']).split(';')[0];
      now += 12 * 3_600_000 + 1;
      expect((await request(t.app).get('/api/deliveries').set('Cookie', cookie)).status).toBe(401);
    });

    it('a wrong token is 401 "invalid"; failed sign-ins of one address are 429 past the limit', async () => {
      const t = build();
      const attempt = (token: string) =>
        request(t.app)
          .post('/api/session')
          .set('Host', 'h')
          .set('Origin', 'http://h')
          .send({ token });
      const wrong = await attempt('not-the-token');
      expect(wrong.status).toBe(401);
      expect(wrong.body).toEqual({ error: 'the admin token is invalid', code: 'unauthorized' });
      expect(wrong.headers['set-cookie']).toBeUndefined();
      for (let i = 1; i < SIGN_IN_FAILURES; i++)
        expect((await attempt(`wrong-${i}`)).status).toBe(401);
      const limited = await attempt(ADMIN);
      expect(limited.status).toBe(429);
      expect(limited.body.code).toBe('too_many_sign_ins');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
      expect(t.logs.text()).not.toContain('not-the-token');
    });

    it.each([
      ['no body', undefined],
      ['a token that is not a string', { token: 42 }],
    ])('%s is 400 invalid_request', async (_name, body) => {
      const t = build();
      const res = await request(t.app)
        .post('/api/session')
        .set('Host', 'h')
        .set('Origin', 'http://h')
        .send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    });
  });

  describe('Origin on state-changing calls made with the cookie', () => {
    it.each([
      ['no Origin', undefined, 403],
      ['another site', 'http://evil.test', 403],
      ['this flowhook', 'http://console.test', 202],
    ])('%s → %i', async (_name, origin, status) => {
      const t = build();
      const agent = await signIn(t);
      const call = agent
        .post('/api/replays')
        .set('Host', 'console.test')
        .send({ source: 'orders' });
      if (origin) call.set('Origin', origin);
      const res = await call;
      expect(res.status).toBe(status);
      if (status === 403) expect(res.body.code).toBe('forbidden_origin');
    });

    it('a Bearer token needs no Origin (scripts); a sign-in from another site is refused', async () => {
      const t = build();
      expect(
        (await bearer(request(t.app).post('/api/replays')).send({ source: 'orders' })).status,
      ).toBe(202);
      const res = await request(t.app)
        .post('/api/session')
        .set('Host', 'console.test')
        .set('Origin', 'http://evil.test')
        .send({ token: ADMIN });
      expect(res.status).toBe(403);
    });
  });

  describe('/console', () => {
    it('serves the page with a strict CSP, index never cached, fingerprinted assets cached for a year', async () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-console-dist-'));
      fs.mkdirSync(path.join(dir, 'assets'));
      fs.writeFileSync(
        path.join(dir, 'index.html'),
        '<!doctype html><script type="module" src="/console/assets/index-abc123.js"></script>',
      );
      fs.writeFileSync(path.join(dir, 'assets', 'index-abc123.js'), 'console.log(1)');
      const t = build({}, dir);
      const page = await request(t.app).get('/console/');
      expect(page.status).toBe(200);
      expect(page.headers['cache-control']).toBe('no-cache');
      const csp = String(page.headers['content-security-policy']);
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("style-src 'self'");
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
      expect((await request(t.app).get('/console')).status).toBe(200);
      const asset = await request(t.app).get('/console/assets/index-abc123.js');
      expect(asset.headers['cache-control']).toBe('public, max-age=31536000, immutable');
      expect((await request(t.app).get('/console/assets/nope.js')).status).toBe(404);
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('does not exist without ADMIN_TOKEN', async () => {
      const t = buildApp({ files: { 'orders.yaml': ORDERS }, env: { ORDERS_SECRET: SECRET } });
      expect((await request(t.app).get('/console/')).status).toBe(404);
      expect((await request(t.app).post('/api/session').send({ token: ADMIN })).status).toBe(404);
    });
  });

  describe('bulk replay', () => {
    it('replays every delivery the filter matches, skips and counts a running one, and can be listed', async () => {
      const t = build();
      api.answer(400);
      const ids: string[] = [];
      for (let i = 0; i < 7; i++)
        ids.push((await send(t, { action: 'created', id: `o-${i}` }, `d-${i}`)).body.deliveryId);
      api.reset();
      // One is held by someone else right now.
      expect(
        await t.store.claim(ids[3], {
          owner: 'other-process',
          until: Date.now() + 60_000,
          fromState: 'failed',
        }),
      ).toBe('claimed');
      const started = await bearer(request(t.app).post('/api/replays')).send({
        source: 'orders',
        status: 'failed',
      });
      expect(started.status).toBe(202);
      let job = started.body;
      await until(
        async () => {
          job = (await bearer(request(t.app).get(`/api/replays/${started.body.id}`))).body;
          return job.state === 'finished';
        },
        10_000,
        'the job to finish',
      );
      expect(job).toMatchObject({ total: 6, done: 6, succeeded: 6, skipped: 0, refused: 0 });
      // The running one was not matched by status=failed; without the state filter it is skipped.
      const all = await bearer(request(t.app).post('/api/replays')).send({ source: 'orders' });
      await until(
        async () => {
          job = (await bearer(request(t.app).get(`/api/replays/${all.body.id}`))).body;
          return job.state === 'finished';
        },
        10_000,
        'the second job',
      );
      expect(job).toMatchObject({ total: 7, done: 7, succeeded: 6, skipped: 1 });
      const record = await t.store.get(ids[0]);
      expect(record?.attempts.map((a) => a.outcome)).toEqual(['failed', 'succeeded', 'succeeded']);
      expect((await bearer(request(t.app).get('/api/replays'))).body.items).toHaveLength(2);
    });

    it('cancel stops the job; unknown jobs and bad filters are refused', async () => {
      const t = build();
      for (let i = 0; i < 5; i++) await send(t, { action: 'created', id: `o-${i}` }, `c-${i}`);
      api.answerAfter(200);
      const started = await bearer(request(t.app).post('/api/replays')).send({ source: 'orders' });
      const cancelled = await bearer(request(t.app).post(`/api/replays/${started.body.id}/cancel`));
      expect(cancelled.body.state).toBe('cancelled');
      await until(
        async () =>
          (await bearer(request(t.app).get(`/api/replays/${started.body.id}`))).body.finishedAt !==
          null,
        10_000,
        'the cancelled job to stop',
      );
      const job = (await bearer(request(t.app).get(`/api/replays/${started.body.id}`))).body;
      expect(job.done).toBeLessThan(5);
      expect(job.state).toBe('cancelled');
      expect(
        (await bearer(request(t.app).get('/api/replays/6a1c2a43-2a2b-4c1e-9a56-2f4f8f6f7b21'))).body
          .code,
      ).toBe('job_not_found');
      const bad = await bearer(request(t.app).post('/api/replays')).send({
        status: 'done',
        colour: 'red',
      });
      expect(bad.status).toBe(400);
      expect(bad.body.parameters.map((p: { name: string }) => p.name).sort()).toEqual([
        'colour',
        'status',
      ]);
    });
  });

  describe('playground', () => {
    it('evaluates a draft on a stored delivery: routes, condition verdicts, variables, the execute request; nothing saved', async () => {
      const t = build();
      const { deliveryId } = (await send(t, { action: 'shipped', id: 'o-9' }, 'p-1')).body;
      const before = await t.store.get(deliveryId);
      const draft = ORDERS.replace('equals: created', 'equals: shipped');
      const res = await bearer(request(t.app).post('/api/playground/evaluate')).send({
        source: 'orders',
        mapping: draft,
        deliveryId,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        ok: true,
        problems: [],
        explanation: {
          matched: ['created'],
          routes: [
            {
              name: 'created',
              held: true,
              conditions: [
                { condition: '$.action equals "shipped"', held: true, found: ['shipped'] },
              ],
            },
          ],
          executions: [
            {
              route: 'created',
              flowId: 'order-created',
              request: { method: 'POST', body: { id: 'o-9' } },
            },
          ],
        },
      });
      expect(res.body.explanation.executions[0].request.path).toBe(
        '/cgw/process/v1/orgs/org-1/flows/order-created/execute',
      );
      expect(await t.store.get(deliveryId)).toEqual(before);
      const current = await bearer(request(t.app).post('/api/playground/evaluate')).send({
        source: 'orders',
        deliveryId,
      });
      expect(current.body.explanation.routes[0].conditions[0]).toMatchObject({
        held: false,
        found: ['shipped'],
      });
    });

    it('a pasted payload and headers; a draft with a typo answers its problems with line and column', async () => {
      const t = build();
      const typo = ORDERS.replace('equals: created', 'equal: created');
      const res = await bearer(request(t.app).post('/api/playground/evaluate')).send({
        source: 'orders',
        mapping: typo,
        request: {
          body: '{"action":"created","id":"x"}',
          headers: { 'Content-Type': 'application/json' },
        },
      });
      expect(res.body.ok).toBe(false);
      expect(res.body.problems[0]).toMatchObject({
        line: 9,
        path: expect.stringContaining('when[0]'),
      });
      expect(res.body.problems[0].message).toMatch(/equal/);
      const pasted = await bearer(request(t.app).post('/api/playground/evaluate')).send({
        source: 'orders',
        mapping: ORDERS,
        request: { body: '{"action":"created","id":"x"}' },
      });
      expect(pasted.body.explanation.matched).toEqual(['created']);
    });

    it.each([
      ['neither a delivery nor a payload', { source: 'orders', mapping: ORDERS }],
      [
        'both',
        {
          source: 'orders',
          mapping: ORDERS,
          deliveryId: '6a1c2a43-2a2b-4c1e-9a56-2f4f8f6f7b21',
          request: { body: '{}' },
        },
      ],
      [
        'headers that are not strings',
        { source: 'orders', mapping: ORDERS, request: { body: '{}', headers: { a: 1 } } },
      ],
      [
        'an unknown field',
        { source: 'orders', mapping: ORDERS, request: { body: '{}' }, save: true },
      ],
    ])('%s is 400', async (_name, body) => {
      const t = build();
      const res = await bearer(request(t.app).post('/api/playground/evaluate')).send(body);
      expect(res.status).toBe(400);
      expect(res.body.code).toBe('invalid_request');
    });

    it('replay with a draft: a new attempt, the delivery marked with the draft version', async () => {
      const t = build();
      const { deliveryId } = (await send(t, { action: 'shipped', id: 'o-3' }, 'r-1')).body;
      const draft = ORDERS.replace('equals: created', 'equals: shipped');
      const res = await bearer(request(t.app).post('/api/playground/replay')).send({
        source: 'orders',
        mapping: draft,
        deliveryId,
      });
      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({
        state: 'succeeded',
        draft: true,
        mappingVersion: expect.stringMatching(/^draft-[0-9a-f]{12}$/),
      });
      expect(api.requests.at(-1)?.path).toContain('/flows/order-created/');
      const bad = await bearer(request(t.app).post('/api/playground/replay')).send({
        source: 'orders',
        mapping: 'routes: [',
        deliveryId,
      });
      expect(bad.status).toBe(422);
      expect(bad.body.code).toBe('invalid_mapping');
    });

    it('save: refused without CONSOLE_EDIT=on; with it, validated, written atomically with a backup', async () => {
      const off = build();
      const refused = await bearer(request(off.app).put('/api/sources/orders/mapping')).send({
        text: ORDERS,
      });
      expect(refused.status).toBe(403);
      expect(refused.body.code).toBe('console_edit_off');

      const t = build({ consoleEdit: true });
      const file = path.join(t.mappings.dir, 'orders.yaml');
      const read = await bearer(request(t.app).get('/api/sources/orders/mapping'));
      expect(read.body).toMatchObject({ file: 'orders.yaml', text: ORDERS, editable: true });
      const invalid = await bearer(request(t.app).put('/api/sources/orders/mapping')).send({
        text: ORDERS.replace('flow:', 'flw:'),
      });
      expect(invalid.status).toBe(422);
      expect(invalid.body.problems[0].line).toBeGreaterThan(0);
      expect(fs.readFileSync(file, 'utf8')).toBe(ORDERS);
      const draft = ORDERS.replace('equals: created', 'equals: shipped');
      const saved = await bearer(request(t.app).put('/api/sources/orders/mapping')).send({
        text: draft,
        baseVersion: read.body.version,
      });
      expect(saved.status).toBe(200);
      expect(fs.readFileSync(file, 'utf8')).toBe(draft);
      expect(fs.readFileSync(path.join(t.mappings.dir, saved.body.backup), 'utf8')).toBe(ORDERS);
      expect(fs.readdirSync(t.mappings.dir).sort()).toEqual(['.flowhook-backup', 'orders.yaml']);
      const stale = await bearer(request(t.app).put('/api/sources/orders/mapping')).send({
        text: ORDERS,
        baseVersion: read.body.version,
      });
      expect(stale.status).toBe(409);
      expect(stale.body.code).toBe('mapping_changed');
      const renamed = await bearer(request(t.app).put('/api/sources/orders/mapping')).send({
        text: `source: other\n${draft}`,
      });
      expect(renamed.status).toBe(422);
    });
  });

  describe('the routing explanation, stored when received', () => {
    it('for a delivery that ran, one ignored and one refused; the API shows it', async () => {
      const t = build();
      const ran = (await send(t, { action: 'created', id: 'o-1' }, 'e-1')).body.deliveryId;
      const ignored = (await send(t, { action: 'deleted', id: 'o-2' }, 'e-2')).body.deliveryId;
      const refused = (await send(t, { action: 'created' }, 'e-3')).body.deliveryId;
      const detail = async (id: string) =>
        (await bearer(request(t.app).get(`/api/deliveries/${id}`))).body.explanation;
      expect(await detail(ran)).toMatchObject({
        source: 'orders',
        file: 'orders.yaml',
        mappingVersion: t.mappings.sources.get('orders')?.version,
        verification: { provider: 'github', secretIndex: 0 },
        matched: ['created'],
        routes: [
          {
            name: 'created',
            held: true,
            conditions: [
              { condition: '$.action equals "created"', held: true, found: ['created'] },
            ],
          },
        ],
        executions: [
          { route: 'created', flowId: 'order-created', request: { body: { id: 'o-1' } } },
        ],
      });
      expect(await detail(ignored)).toMatchObject({
        matched: [],
        routes: [{ held: false, conditions: [{ held: false, found: ['deleted'] }] }],
        executions: [],
      });
      const refusal = await detail(refused);
      expect(refusal).toMatchObject({
        matched: ['created'],
        error: { status: 422, code: 'missing_variables' },
      });
      // Computed when received: a later change of the mapping does not change it.
      expect((await t.store.get(ran))?.explanation?.mappingVersion).toBe(
        t.mappings.sources.get('orders')?.version,
      );
    });

    it('a found value holding a secret is redacted, a long one cut', async () => {
      const t = buildApp({
        files: {
          'orders.yaml': ORDERS.replace(
            '- path: $.action',
            '- path: $.note\n        equals: x\n      - path: $.action',
          ),
        },
        env: { ORDERS_SECRET: SECRET },
        flowBaseUrl: api.url,
        config: { adminToken: ADMIN },
      });
      const id = (await send(t, { note: `the secret is ${SECRET}`, action: 'x', id: 'o' }, 's-1'))
        .body.deliveryId;
      const long = (await send(t, { note: 'y'.repeat(1000), action: 'x', id: 'o' }, 's-2')).body
        .deliveryId;
      const found = async (delivery: string) =>
        (await t.store.get(delivery))?.explanation?.routes[0].conditions[0].found?.[0];
      expect(await found(id)).toBe('[redacted]');
      expect(String(await found(long))).toHaveLength(201);
      expect(JSON.stringify(await t.store.get(id))).not.toContain(SECRET);
    });
  });

  it('lists by flow, time range and delivery id (whole, first 8 characters, provider id)', async () => {
    let now = Date.parse('2026-01-01T00:00:00Z');
    const t = buildApp({
      files: { 'orders.yaml': ORDERS.replace('flow: order-created', "flow: '${FLOW}'") },
      env: { ORDERS_SECRET: SECRET, FLOW: 'order-created' },
      flowBaseUrl: api.url,
      config: { adminToken: ADMIN },
      now: () => now,
    });
    const a = (await send(t, { action: 'created', id: 'o-1' }, 'provider-a')).body.deliveryId;
    now += 60_000;
    const b = (await send(t, { action: 'created', id: 'o-2' }, 'provider-b')).body.deliveryId;
    now += 60_000;
    const c = (await send(t, { action: 'other', id: 'o-3' }, 'provider-c')).body.deliveryId;
    const ids = async (query: string) =>
      (await bearer(request(t.app).get(`/api/deliveries?${query}`))).body.items.map(
        (d: { id: string }) => d.id,
      );
    expect(await ids('flow=order-created')).toEqual([b, a]);
    expect(await ids('flow=nothing')).toEqual([]);
    expect(await ids('until=2026-01-01T00:01:00Z')).toEqual([a]);
    expect(await ids('since=2026-01-01T00:01:00Z&until=2026-01-01T00:02:00Z')).toEqual([b]);
    expect(await ids(`q=${c}`)).toEqual([c]);
    // By its last 8 or more characters (the console's short id), or its first ones.
    expect(await ids(`q=${b.slice(-8)}`)).toEqual([b]);
    expect(await ids(`q=${b.slice(-7)}`)).toEqual([]);
    expect(await ids(`q=${b.slice(0, 23)}`)).toEqual([b]);
    // A LIKE wildcard in the box is text, not a pattern.
    expect(await ids('q=%%%%%%%%')).toEqual([]);
    expect(await ids('q=provider-a')).toEqual([a]);
    const bad = await bearer(request(t.app).get('/api/deliveries?until=yesterday'));
    expect(bad.status).toBe(400);
  });

  it('replay with a draft marks its attempts as draft', async () => {
    const t = build();
    const { deliveryId } = (await send(t, { action: 'shipped', id: 'o-3' }, 'dr-1')).body;
    const draft = ORDERS.replace('equals: created', 'equals: shipped');
    await bearer(request(t.app).post('/api/playground/replay')).send({
      source: 'orders',
      mapping: draft,
      deliveryId,
    });
    const detail = (await bearer(request(t.app).get(`/api/deliveries/${deliveryId}`))).body;
    expect(detail.attempts).toEqual([
      expect.objectContaining({ number: 1, outcome: 'succeeded', draft: true }),
    ]);
    await bearer(request(t.app).post(`/api/deliveries/${deliveryId}/replay`));
    const after = (await bearer(request(t.app).get(`/api/deliveries/${deliveryId}`))).body.attempts;
    expect(after).toHaveLength(1); // the loaded mapping does not match "shipped": refused, nothing ran
  });

  it('sources/activity: the last delivery and the count of the last hour per source', async () => {
    const t = build();
    const { deliveryId } = (await send(t, { action: 'created', id: 'o-1' }, 'a-1')).body;
    const res = await bearer(request(t.app).get('/api/sources/activity'));
    expect(res.body.items).toEqual([
      {
        source: 'orders',
        lastDelivery: { id: deliveryId, receivedAt: expect.any(String), state: 'succeeded' },
        lastHour: 1,
        lastHourCapped: false,
      },
    ]);
  });
});
