import { createHmac } from 'node:crypto';
import request from 'supertest';
import fs from 'node:fs';
import path from 'node:path';
import express from 'express';
import { ERROR_STATUS, FlowhookError, type ErrorCode } from '../../src/errors';
import { errorHandler } from '../../src/http/error-handler';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';
import {
  buildApp,
  fixture,
  githubSignature,
  memoryLogger,
  ORG,
  TOKEN,
  type TestApp,
} from '../support/harness';

/** The error tables of README.md (the hook route) and docs/admin-api.md: code → status. */
const DOCUMENTED: Record<string, number> = Object.fromEntries(
  ['README.md', 'docs/admin-api.md'].flatMap((file) =>
    [
      ...fs
        .readFileSync(path.join(__dirname, '..', '..', file), 'utf8')
        .matchAll(/^\| `([a-z_]+)` +\| (\d{3}) +\|/gm),
    ].map((row) => [row[1], Number(row[2])]),
  ),
);

const SECRET = 'gh-secret-value';
const STRIPE_SECRET = 'whsec_stripe_secret_value';
const FILES = {
  'github.yaml': `
source: github
replyWithin: 400ms # a retryable failure answers 202 queued without a retry inside the budget
verify:
  provider: github
  secret: \${GH_SECRET}
routes:
  - name: push-to-main
    when:
      - header: X-GitHub-Event
        equals: push
      - path: $.ref
        equals: refs/heads/main
    flow: deploy/flow 1
    org: acme org
    variables:
      repository: $.repository.full_name
      message: { path: $.head_commit.message, required: true }
      author: { path: $.head_commit.author.name, default: unknown }
      event: { header: X-GitHub-Event }
      environment: { value: production }
  - name: issue-opened
    when:
      - header: X-GitHub-Event
        equals: issues
    flow: triage
    variables:
      number: { path: $.issue.number, required: true }
      title: { path: $.issue.title, required: true }
`,
  'stripe.yaml': `
verify:
  provider: stripe
  secret: \${STRIPE_SECRET}
routes:
  - name: paid
    flow: payments
    variables: { id: $.id }
`,
  'later.yaml': `
verify: { provider: github, secret: '\${NOT_SET_YET}' }
routes: [{ name: r, flow: f }]
`,
};
const ENV = { GH_SECRET: SECRET, STRIPE_SECRET };
const PUSH = fixture('github', 'push.json');

function postGithub(t: TestApp, body: string, event = 'push') {
  return request(t.app)
    .post('/hooks/github')
    .set('Content-Type', 'application/json')
    .set('X-GitHub-Event', event)
    .set('X-GitHub-Delivery', '72d3162e-cc78-11e3-81ab-4c9367dc0958')
    .set('X-Hub-Signature-256', githubSignature(SECRET, body))
    .send(body);
}

describe('HTTP status table (README: HTTP answers)', () => {
  let api: FakeFlowApi;
  let t: TestApp;

  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());
  beforeEach(() => {
    api.reset();
    t = buildApp({ files: FILES, env: ENV, flowBaseUrl: api.url, timeoutMs: 300 });
  });

  it('sync, flow ran → 200 with the session, and the exact execute call was made', async () => {
    const res = await postGithub(t, PUSH).set(
      'traceparent',
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      deliveryId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      source: 'github',
      route: 'push-to-main',
      flowId: 'deploy/flow 1',
      sessionId: 'session-1',
      result: 'Execution completed',
    });
    expect(api.requests).toHaveLength(1);
    const [sent] = api.requests;
    expect(sent.method).toBe('POST');
    expect(sent.path).toBe('/cgw/process/v1/orgs/acme%20org/flows/deploy%2Fflow%201/execute');
    expect(sent.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(sent.headers['content-type']).toBe('application/json');
    expect(sent.headers.traceparent).toBe(
      '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
    );
    expect(sent.body).toEqual({
      repository: 'Codertocat/Hello-World',
      message: 'Update README.md — café ☕',
      author: 'Codertocat',
      event: 'push',
      environment: 'production',
    });
  });

  it('a route without org uses FLOW_ORG_ID', async () => {
    const body = fixture('github', 'issues-opened.json');
    const res = await postGithub(t, body, 'issues');
    expect(res.status).toBe(200);
    expect(api.requests[0].path).toBe(`/cgw/process/v1/orgs/${ORG}/flows/triage/execute`);
    expect(api.requests[0].body).toEqual({ number: 1, title: 'Spelling error in the README file' });
  });

  it('verified, no route matched → 202 ignored, and no flow call', async () => {
    const res = await postGithub(t, PUSH, 'star');
    expect(res.status).toBe(202);
    expect(res.body).toEqual({
      deliveryId: expect.any(String),
      status: 'ignored',
      reason: expect.stringContaining('no route'),
    });
    expect(api.requests).toHaveLength(0);
  });

  it('unknown source → 404 unknown_source', async () => {
    const res = await request(t.app).post('/hooks/nope').send({});
    expect(res.status).toBe(404);
    expect(res.body).toEqual({ error: 'no source named "nope"', code: 'unknown_source' });
  });

  it('a source waiting for its secret → 503 source_disabled; why is logged, not answered (issue 9 item 8)', async () => {
    const res = await request(t.app).post('/hooks/later').send({});
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'source "later" is unavailable', code: 'source_disabled' });
    expect(t.logs.lines().at(-1)).toMatchObject({
      source: 'later',
      status: 503,
      disabled: 'disabled until NOT_SET_YET is set',
    });
  });

  it('missing signature → 401 invalid_signature with a reason, no deliveryId, no flow call', async () => {
    const res = await request(t.app)
      .post('/hooks/github')
      .set('Content-Type', 'application/json')
      .send(PUSH);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_signature');
    expect(res.body.error).toMatch(/X-Hub-Signature-256/i);
    expect(res.body.deliveryId).toBeUndefined();
    expect(api.requests).toHaveLength(0);
  });

  it('bad signature → 401, and the answer does not disclose the expected signature', async () => {
    const res = await request(t.app)
      .post('/hooks/github')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature('wrong', PUSH))
      .send(PUSH);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain(githubSignature(SECRET, PUSH).slice(7));
    expect(res.text).not.toContain(SECRET);
  });

  it('stale timestamp → 401', async () => {
    const body = '{"id":"evt_1","type":"x"}';
    const t0 = Math.floor(Date.now() / 1000) - 3600;
    const sig = createHmac('sha256', STRIPE_SECRET).update(`${t0}.${body}`).digest('hex');
    const res = await request(t.app)
      .post('/hooks/stripe')
      .set('Content-Type', 'application/json')
      .set('Stripe-Signature', `t=${t0},v1=${sig}`)
      .send(body);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/tolerance|too old/i);
  });

  it('unparseable body → 400 invalid_body with the deliveryId', async () => {
    const res = await postGithub(t, '{"ref": ');
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'invalid_body', deliveryId: expect.any(String) });
  });

  it('unsupported type → 415', async () => {
    const res = await postGithub(t, PUSH).set('Content-Type', 'text/plain');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported_media_type');
  });

  it('too large → 413 body_too_large', async () => {
    const small = buildApp({ files: FILES, env: ENV, flowBaseUrl: api.url, bodyLimit: 1024 });
    const res = await postGithub(small, PUSH);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
  });

  it('required variable missing → 422 naming the variables', async () => {
    const body = JSON.stringify({ action: 'opened', issue: {} });
    const res = await postGithub(t, body, 'issues');
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'missing_variables', variables: ['number', 'title'] });
    expect(api.requests).toHaveLength(0);
  });

  it.each([400, 401, 404])(
    'flow API answered %i → 502 with upstream {status, error}; a refusal is not retried',
    async (status) => {
      api.answer(status);
      const res = await postGithub(t, PUSH);
      expect(res.status).toBe(502);
      expect(res.body).toMatchObject({
        code: 'upstream_error',
        deliveryId: expect.any(String),
        upstream: { status, error: `failed with ${status}` },
      });
      expect(res.text).not.toContain(TOKEN);
      expect(await t.store.get(res.body.deliveryId)).toMatchObject({
        state: 'failed',
        nextAttemptAt: null,
      });
    },
  );

  it('flow API answered 200 without a sessionId → 502, not retried (the flow may have run)', async () => {
    api.answer(200, { result: 'odd' });
    const res = await postGithub(t, PUSH);
    expect(res.status).toBe(502);
    expect(res.body.upstream).toEqual({ status: 200, error: 'the answer has no sessionId' });
    expect((await t.store.get(res.body.deliveryId))?.state).toBe('failed');
  });

  it('flow API echoing the token in its error → the token is redacted', async () => {
    api.answer(401, { error: `bad token Bearer ${TOKEN}` });
    const res = await postGithub(t, PUSH);
    expect(res.status).toBe(502);
    expect(res.text).not.toContain(TOKEN);
    expect(res.body.upstream.error).toBe('bad token Bearer [redacted]');
  });

  it.each([
    ['answered 500', () => api.answer(500), /the flow API answered 500/],
    ['answered non-JSON 503', () => api.answerRaw(503, 'upstream maintenance'), /answered 503/],
    ['timed out', () => api.hang(), /did not answer within 300 ms/],
  ])(
    'flow API %s → 202 queued: the delivery is kept and retried',
    async (_name, arrange, reason) => {
      arrange();
      const res = await postGithub(t, PUSH);
      expect(res.status).toBe(202);
      expect(res.body).toEqual({
        deliveryId: expect.any(String),
        status: 'queued',
        reason: expect.stringMatching(reason),
        nextAttemptAt: expect.any(String),
      });
      const stored = await t.store.get(res.body.deliveryId);
      expect(stored).toMatchObject({ state: 'queued', attempts: [{ outcome: 'failed' }] });
      expect(stored?.nextAttemptAt).toBeGreaterThan(Date.now());
    },
  );

  it('flow API unreachable → 202 queued', async () => {
    const down = buildApp({ files: FILES, env: ENV, flowBaseUrl: await refusingUrl() });
    const res = await postGithub(down, PUSH);
    expect(res.status).toBe(202);
    expect(res.body.reason).toMatch(/could not be reached/);
  });

  it('GET on a hook URL → 405 with Allow: POST', async () => {
    const res = await request(t.app).get('/hooks/github');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('POST');
    expect(res.body.code).toBe('method_not_allowed');
  });

  it('not a route → 404 not_found in the error shape', async () => {
    const res = await request(t.app).get('/webhooks/github');
    expect(res.status).toBe(404);
    expect(res.body.code).toBe('not_found');
  });

  it('the store refuses the write → 503 store_unavailable with Retry-After and no deliveryId (issue 9, item 16); nothing ran; logged', async () => {
    await t.store.close(); // every write now rejects, as on a full disk
    const res = await postGithub(t, PUSH);
    expect(res.status).toBe(503);
    expect(res.headers['retry-after']).toBe('5');
    expect(res.body).toEqual({
      code: 'store_unavailable',
      error: expect.stringContaining('nothing was accepted, send it again'),
    });
    expect(api.requests).toHaveLength(0);
    const line = t.logs.lines().find((l) => l.msg === 'the delivery store failed');
    expect(line?.err).toMatchObject({ message: 'the delivery store is closed' });
  });

  it('the store fails after the flow ran (recording the outcome) → 202 running, logged: the delivery was accepted, it must not be sent again', async () => {
    const update = jest.spyOn(t.store, 'update').mockRejectedValue(new Error('disk I/O error'));
    const res = await postGithub(t, PUSH);
    update.mockRestore();
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ deliveryId: expect.any(String), status: 'running' });
    expect(api.requests).toHaveLength(1);
    const line = t.logs
      .lines()
      .find((l) =>
        String(l.msg).startsWith('the delivery store failed to record an accepted delivery'),
      );
    expect(line).toMatchObject({
      deliveryId: res.body.deliveryId,
      err: { message: 'disk I/O error' },
    });
    // Still running under its lease: the worker resumes it once the lease expires.
    expect(await t.store.get(res.body.deliveryId)).toMatchObject({
      state: 'running',
      attempts: [],
    });
  });

  // Issue 10 item 13: not a copy of ERROR_STATUS, which could only restate it. The documented
  // tables (README's, and the admin API's) are read, and each code is answered by the one error
  // middleware with the status they promise.
  it.each(Object.entries(DOCUMENTED))(
    'the error middleware answers %s with the documented status %s',
    async (code, status) => {
      const app = express();
      app.get('/fail', () => {
        throw new FlowhookError(code as ErrorCode, `a ${code} refusal`);
      });
      app.use(errorHandler(memoryLogger().logger));
      const res = await request(app).get('/fail');
      expect(res.status).toBe(status);
      expect(res.body).toMatchObject({ code, error: `a ${code} refusal` });
    },
  );

  it('every error code is documented, and every documented code exists', () => {
    expect(Object.keys(DOCUMENTED).sort()).toEqual(Object.keys(ERROR_STATUS).sort());
  });
});
