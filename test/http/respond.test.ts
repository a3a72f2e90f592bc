import { createHmac } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import request from 'supertest';
import { createDeliveryWorker, type DeliveryWorker } from '../../src/deliveries/delivery-worker';
import { createLeases } from '../../src/deliveries/lease';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { createLateAnswers } from '../../src/responses/create-late-answers';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, fixture, githubSignature, memoryLogger } from '../support/harness';
import { until } from '../support/until';

// Issue 16: answer the sender in its own language (respond: templates, slack and twiml presets,
// late answers through Slack's response_url).
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_ENV = { SLACK_SIGNING_SECRET: SLACK_SECRET, SLACK_COMMAND_FLOW_ID: 'slack-deploy' };
const SHIPPED_SLACK = fs.readFileSync(
  path.join(__dirname, '..', '..', 'mappings', 'slack.yaml'),
  'utf8',
);
const SLASH = fixture('slack', 'slash-command.txt');

function slackPost(app: Parameters<typeof request>[0], body: string) {
  const ts = Math.floor(Date.now() / 1000);
  const sig = createHmac('sha256', SLACK_SECRET).update(`v0:${ts}:${body}`).digest('hex');
  return request(app)
    .post('/hooks/slack')
    .type('form')
    .set('X-Slack-Request-Timestamp', String(ts))
    .set('X-Slack-Signature', `v0=${sig}`)
    .send(body);
}

/** The slash command with another command or response_url. */
const slash = (changes: Record<string, string>) => {
  const form = new URLSearchParams(SLASH);
  for (const [name, value] of Object.entries(changes)) form.set(name, value);
  return form.toString();
};

describe('respond: slack (the shipped mappings/slack.yaml)', () => {
  let api: FakeFlowApi;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
  });
  afterEach(() => api.stop());

  it('a signed slash command: Slack JSON with the templated text and the flow’s sessionId', async () => {
    const t = buildApp({
      files: { 'slack.yaml': SHIPPED_SLACK },
      env: SLACK_ENV,
      flowBaseUrl: api.url,
    });
    const res = await slackPost(t.app, SLASH);
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(res.body).toEqual({
      response_type: 'ephemeral',
      text: 'deploy-command: Execution completed (session session-1)',
    });
    expect(api.requests).toHaveLength(1);
  });

  it('no route matched: the ignored text', async () => {
    const t = buildApp({
      files: { 'slack.yaml': SHIPPED_SLACK },
      env: SLACK_ENV,
      flowBaseUrl: api.url,
    });
    const res = await slackPost(t.app, slash({ command: '/weather' }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      response_type: 'ephemeral',
      text: 'Nothing to do for this request: no route matched.',
    });
    expect(api.requests).toHaveLength(0);
  });

  it('the flow fails with 400: the failed text, without the platform’s raw body', async () => {
    api.answer(400, { error: 'bad input; token xoxb-leaked-123 rejected' });
    const t = buildApp({
      files: { 'slack.yaml': SHIPPED_SLACK },
      env: SLACK_ENV,
      flowBaseUrl: api.url,
    });
    const res = await slackPost(t.app, SLASH);
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      response_type: 'ephemeral',
      text: 'deploy-command could not run: the flow API answered 400',
    });
    expect(res.text).not.toContain('xoxb');
    // The delivery still says what happened.
    const [stored] = (await t.store.list({ limit: 1 })).items;
    expect(stored?.state).toBe('failed');
  });

  it('a bad signature keeps flowhook’s own 401: an unverified sender gets nothing from a template', async () => {
    const t = buildApp({
      files: { 'slack.yaml': SHIPPED_SLACK },
      env: SLACK_ENV,
      flowBaseUrl: api.url,
    });
    const res = await request(t.app)
      .post('/hooks/slack')
      .type('form')
      .set('X-Slack-Request-Timestamp', String(Math.floor(Date.now() / 1000)))
      .set('X-Slack-Signature', `v0=${'0'.repeat(64)}`)
      .send(SLASH);
    expect(res.status).toBe(401);
    expect(res.body.code).toBe('invalid_signature');
  });
});

describe('late answers through response_url (respond: slack, replyWithin)', () => {
  let api: FakeFlowApi;
  let slack: FakeFlowApi;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
    slack = await new FakeFlowApi().start();
  });
  afterEach(async () => {
    await api.stop();
    await slack.stop();
  });
  const files = {
    'slack.yaml': SHIPPED_SLACK.replace('source: slack', 'source: slack\nreplyWithin: 1s'),
  };

  it('a slow flow: the running text within the budget, then the final message at response_url', async () => {
    api.answerAfter(2500);
    const t = buildApp({
      files,
      env: SLACK_ENV,
      flowBaseUrl: api.url,
      timeoutMs: 10_000,
      config: { responseUrlAllow: [slack.url] },
    });
    const res = await slackPost(t.app, slash({ response_url: `${slack.url}/commands/T1/2/abc` }));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      response_type: 'ephemeral',
      text: 'Working on it… the result will follow here.',
    });
    expect(slack.requests).toHaveLength(0); // the flow is still running
    await until(() => slack.requests.length === 1, 10_000, 'the late answer');
    expect(slack.requests[0]).toMatchObject({
      method: 'POST',
      path: '/commands/T1/2/abc',
      body: {
        response_type: 'ephemeral',
        text: 'deploy-command: Execution completed (session session-1)',
      },
    });
    expect(slack.requests[0]?.headers['content-type']).toBe('application/json; charset=utf-8');
    const [stored] = (await t.store.list({ limit: 1 })).items;
    await until(async () => (await t.store.get(stored!.id))?.lateAnswer?.state === 'sent');
    expect((await t.store.get(stored!.id))?.lateAnswer).toEqual({
      state: 'sent',
      origin: slack.url,
      attempts: 1,
      httpStatus: 200,
      at: expect.any(Number),
    });
  });

  it('a response_url on a host not on the allow-list is never called; the delivery records why', async () => {
    api.answerAfter(1500);
    const t = buildApp({ files, env: SLACK_ENV, flowBaseUrl: api.url, timeoutMs: 10_000 });
    const res = await slackPost(t.app, slash({ response_url: `${slack.url}/commands/T1/2/abc` }));
    expect(res.body.text).toBe('Working on it… the result will follow here.');
    const [stored] = (await t.store.list({ limit: 1 })).items;
    await until(async () => (await t.store.get(stored!.id))?.state === 'succeeded', 10_000);
    const record = await t.store.get(stored!.id);
    expect(record?.lateAnswer).toEqual({
      state: 'refused',
      attempts: 0,
      reason: `${slack.url} is not on RESPONSE_URL_ALLOW (https://hooks.slack.com)`,
    });
    expect(slack.requests).toHaveLength(0);
    expect(
      t.logs.lines().some((l) => l.msg === 'no late answer: the response_url is not allowed'),
    ).toBe(true);
  });
});

describe('late answers sent by the worker (respond: slack, mode: async)', () => {
  let api: FakeFlowApi;
  let slack: FakeFlowApi;
  let worker: DeliveryWorker | undefined;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
    slack = await new FakeFlowApi().start();
  });
  afterEach(async () => {
    await worker?.stop(2000);
    await api.stop();
    await slack.stop();
  });

  // The worker's claim holds no request (issue 15): the response_url comes from the stored body.
  it('the queued command runs in the worker, whose outcome reaches the response_url', async () => {
    const files = {
      'slack.yaml': SHIPPED_SLACK.replace('source: slack', 'source: slack\nmode: async'),
    };
    const t = buildApp({
      files,
      env: SLACK_ENV,
      flowBaseUrl: api.url,
      config: { responseUrlAllow: [slack.url] },
    });
    const res = await slackPost(t.app, slash({ response_url: `${slack.url}/commands/T1/9/xyz` }));
    expect(res.status).toBe(200);
    const [stored] = (await t.store.list({ limit: 1 })).items;
    expect(stored?.state).toBe('queued');
    expect(stored?.lateAnswer?.state).toBe('pending');
    expect(api.requests).toHaveLength(0);
    const logs = memoryLogger();
    worker = createDeliveryWorker({
      store: t.store,
      client: createFlowClient({ baseUrl: api.url, token: 't', timeoutMs: 2000 }),
      policy: { maxAttempts: 3, maxAgeMs: 60_000, baseDelayMs: 20, maxDelayMs: 200 },
      logger: logs.logger,
      concurrency: 2,
      pollMs: 20,
      leases: createLeases({ flowTimeoutMs: 2000, leaseMs: 60_000, processName: 'test-worker' }),
      onFinished: createLateAnswers({
        store: t.store,
        mappings: () => t.mappings,
        allow: [slack.url],
        logger: logs.logger,
        now: Date.now,
      }).deliver,
    });
    worker.start();
    await until(() => slack.requests.length === 1, 10_000, 'the late answer');
    expect(slack.requests[0]).toMatchObject({
      method: 'POST',
      path: '/commands/T1/9/xyz',
      body: {
        response_type: 'ephemeral',
        text: 'deploy-command: Execution completed (session session-1)',
      },
    });
    await until(async () => (await t.store.get(stored!.id))?.lateAnswer?.state === 'sent');
    expect((await t.store.get(stored!.id))?.state).toBe('succeeded');
  });
});

describe('respond: twiml', () => {
  let api: FakeFlowApi;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
  });
  afterEach(() => api.stop());

  it('text/xml, a well-formed TwiML document, <, & and " from the payload escaped', async () => {
    const secret = 'twilio-auth-token-respond';
    const url = 'https://hooks.example.com/hooks/twilio';
    const t = buildApp({
      files: {
        'twilio.yaml': `
verify: { provider: twilio, secret: ${secret}, publicUrl: "${url}" }
respond: { preset: twiml, message: 'Got it: {{ $.Body }}' }
routes: [{ name: sms, flow: sms-flow, variables: { from: $.From, text: $.Body } }]
`,
      },
      flowBaseUrl: api.url,
    });
    const params = { Body: 'a < b & "c"', From: '+15551234567', MessageSid: 'SM1' };
    const signed = Object.keys(params)
      .sort()
      .map((name) => name + params[name as keyof typeof params])
      .join('');
    const res = await request(t.app)
      .post('/hooks/twilio')
      .type('form')
      .set(
        'X-Twilio-Signature',
        createHmac('sha1', secret)
          .update(url + signed)
          .digest('base64'),
      )
      .send(new URLSearchParams(params).toString());
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/xml/);
    // A template's answer carries the hook route's own headers too.
    expect(res.headers['cache-control']).toBe('no-store');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(XMLValidator.validate(res.text)).toBe(true);
    expect(res.text).toContain('Got it: a &lt; b &amp; &quot;c&quot;');
    expect(new XMLParser().parse(res.text).Response.Message).toBe('Got it: a < b & "c"');
  });
});

describe('a custom outcome', () => {
  let api: FakeFlowApi;
  beforeEach(async () => {
    api = await new FakeFlowApi().start();
  });
  afterEach(() => api.stop());

  const files = {
    'gh.yaml': `
verify: { provider: github, secret: gh-secret }
respond:
  ok:
    status: 201
    headers: { X-Run: 'run {{ sessionId }}', Location: '/runs/{{ sessionId }}' }
    body: { id: '{{ sessionId }}', repo: '{{ vars.repository }}', by: '{{ $.pusher.name }}' }
  refused: { status: 400, body: 'Missing: {{ error }}' }
routes:
  - name: push
    flow: deploy
    variables: { repository: { path: $.repository.full_name, required: true } }
`,
  };
  const push = (app: Parameters<typeof request>[0], body: string, id: string) =>
    request(app)
      .post('/hooks/gh')
      .type('json')
      .set('X-GitHub-Event', 'push')
      .set('X-GitHub-Delivery', id)
      .set('X-Hub-Signature-256', githubSignature('gh-secret', body))
      .send(body);

  it('201 with a header; a replay returns the identical answer and runs nothing', async () => {
    const t = buildApp({ files, flowBaseUrl: api.url });
    const body = '{"repository":{"full_name":"acme/api"},"pusher":{"name":"ada <a@b>"}}';
    const first = await push(t.app, body, 'delivery-201');
    expect(first.status).toBe(201);
    expect(first.headers['x-run']).toBe('run session-1');
    expect(first.headers.location).toBe('/runs/session-1');
    expect(first.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(first.text).toBe('{"id":"session-1","repo":"acme/api","by":"ada <a@b>"}');

    const again = await push(t.app, body, 'delivery-201');
    expect(again.status).toBe(first.status);
    expect(again.headers['content-type']).toBe(first.headers['content-type']);
    expect(again.headers['x-run']).toBe(first.headers['x-run']);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(api.requests).toHaveLength(1);
  });

  it('refused: the text template with flowhook’s message, as text/plain', async () => {
    const t = buildApp({ files, flowBaseUrl: api.url });
    const res = await push(t.app, '{"repository":{}}', 'delivery-refused');
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(res.text).toBe('Missing: required variables not found in the request: repository');
    expect(api.requests).toHaveLength(0);
  });
});

describe('refusals that keep flowhook’s answer', () => {
  it('a 415 (media type) of a verified sender is flowhook’s JSON, not the refused template', async () => {
    const t = buildApp({
      files: {
        'open.yaml': `
verify: { provider: none }
respond: { refused: { status: 200, body: 'Refused: {{ error }}' } }
routes: [{ name: r, flow: f }]
`,
      },
    });
    const res = await request(t.app).post('/hooks/open').type('text/csv').send('a,b');
    expect(res.status).toBe(415);
    expect(res.body.code).toBe('unsupported_media_type');
  });
});
