import { createHmac, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import request from 'supertest';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, fixture, githubSignature, TOKEN, type TestApp } from '../support/harness';

// The shipped examples in mappings/, plus inline files for the presets they do not use.
const examples = Object.fromEntries(
  fs
    .readdirSync(path.join(__dirname, '..', '..', 'mappings'))
    .filter((f) => f.endsWith('.yaml'))
    .map((f) => [f, fs.readFileSync(path.join(__dirname, '..', '..', 'mappings', f), 'utf8')]),
);
const SW_KEY = randomBytes(32);
const SECRETS = {
  GITHUB_WEBHOOK_SECRET: 'gh-example-secret',
  STRIPE_WEBHOOK_SECRET: 'whsec_stripe_example_secret',
  SLACK_SIGNING_SECRET: '8f742231b10e8888abcd99yyyzzz85a5',
  TYPEFORM_SECRET: 'typeform-example-secret',
  CONTACT_FORM_TOKEN: 'contact-form-token-123',
  SHOPIFY_SECRET: 'shopify-example-secret',
  SW_SECRET: `whsec_${SW_KEY.toString('base64')}`,
};
const ENV = {
  ...SECRETS,
  GITHUB_DEPLOY_FLOW_ID: 'deploy',
  GITHUB_TRIAGE_FLOW_ID: 'triage',
  STRIPE_PAYMENT_FLOW_ID: 'payments',
  SLACK_COMMAND_FLOW_ID: 'slack-deploy',
  TYPEFORM_FLOW_ID: 'typeform',
  CONTACT_FORM_FLOW_ID: 'contact',
};
const FILES = {
  ...examples,
  'shopify.yaml': `
verify:
  provider: shopify
  secret: \${SHOPIFY_SECRET}
routes: [{ name: order, flow: orders, variables: { order: $.id } }]
`,
  'sw.yaml': `
verify:
  provider: standard-webhooks
  secret: \${SW_SECRET}
routes: [{ name: any, flow: sw-flow, variables: { type: $.type } }]
`,
  'open.yaml': `
verify: { provider: none }
routes: [{ name: any, flow: open-flow, variables: { ping: $.ping } }]
`,
};

const hmac = (algorithm: string, key: string | Buffer, data: string, encoding: 'hex' | 'base64') =>
  createHmac(algorithm, key).update(data).digest(encoding);
const nowSeconds = () => Math.floor(Date.now() / 1000);

interface Case {
  source: string;
  send: (t: TestApp) => request.Test;
  flow: string;
  variables: Record<string, unknown>;
  /** The answer's body, when the mapping has its own (respond:); default flowhook's JSON. */
  answer?: Record<string, unknown>;
}

const push = fixture('github', 'push.json');
const payment = fixture('stripe', 'payment_intent.succeeded.json');
const slash = fixture('slack', 'slash-command.txt');
const typeform = fixture('typeform', 'form_response.json');
const contact = fixture('forms', 'contact.txt');
const shopifyOrder = '{"id":450789469,"email":"jon@example.com"}';
const swEvent = '{"type":"invoice.paid","data":{"id":"in_1"}}';

const CASES: Case[] = [
  {
    source: 'github',
    send: (t) =>
      request(t.app)
        .post('/hooks/github')
        .type('json')
        .set('X-GitHub-Event', 'push')
        .set('X-GitHub-Delivery', 'gh-delivery-1')
        .set('X-Hub-Signature-256', githubSignature(SECRETS.GITHUB_WEBHOOK_SECRET, push))
        .send(push),
    flow: 'deploy',
    variables: {
      repository: 'Codertocat/Hello-World',
      commit: '0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c',
      message: 'Update README.md — café ☕',
      author: 'Codertocat',
      event: 'push',
      environment: 'production',
    },
  },
  {
    source: 'stripe',
    send: (t) => {
      const ts = nowSeconds();
      const sig = hmac('sha256', SECRETS.STRIPE_WEBHOOK_SECRET, `${ts}.${payment}`, 'hex');
      return request(t.app)
        .post('/hooks/stripe')
        .type('json')
        .set('Stripe-Signature', `t=${ts},v1=${sig},v0=${'0'.repeat(64)}`)
        .send(payment);
    },
    flow: 'payments',
    variables: {
      eventId: 'evt_3MtwBwLkdIwHu7ix28a3tqPa',
      paymentIntent: 'pi_3MtwBwLkdIwHu7ix28a3tqPa',
      amount: 2000,
      currency: 'usd',
      customer: 'cus_NffrFeUfNV2Hib',
      livemode: false,
    },
  },
  {
    source: 'slack',
    send: (t) => {
      const ts = nowSeconds();
      const sig = hmac('sha256', SECRETS.SLACK_SIGNING_SECRET, `v0:${ts}:${slash}`, 'hex');
      return request(t.app)
        .post('/hooks/slack')
        .type('form')
        .set('X-Slack-Request-Timestamp', String(ts))
        .set('X-Slack-Signature', `v0=${sig}`)
        .send(slash);
    },
    flow: 'slack-deploy',
    // mappings/slack.yaml answers in Slack's format (respond: slack, issue 16).
    answer: { response_type: 'ephemeral', text: expect.stringMatching(/\(session session-\d+\)$/) },
    variables: {
      text: 'api to staging',
      user: 'roadrunner',
      userId: 'U2CERLKJA',
      channel: 'foobar',
      responseUrl:
        'https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
    },
  },
  {
    source: 'typeform',
    send: (t) =>
      request(t.app)
        .post('/hooks/typeform')
        .type('json')
        .set(
          'Typeform-Signature',
          `sha256=${hmac('sha256', SECRETS.TYPEFORM_SECRET, typeform, 'base64')}`,
        )
        .send(typeform),
    flow: 'typeform',
    variables: {
      formId: 'lT4Z3j',
      responseToken: 'a3a12ec67a1365927098a606107fac15',
      submittedAt: '2023-05-02T10:01:30Z',
      email: 'laura@example.com',
    },
  },
  {
    source: 'contact-form',
    send: (t) =>
      request(t.app)
        .post(`/hooks/contact-form?token=${SECRETS.CONTACT_FORM_TOKEN}`)
        .type('form')
        .send(contact),
    flow: 'contact',
    variables: { name: 'Ada Lovelace', email: 'ada@example.com', message: 'Hello ✓' },
  },
  {
    source: 'shopify',
    send: (t) =>
      request(t.app)
        .post('/hooks/shopify')
        .type('json')
        .set('X-Shopify-Webhook-Id', 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043')
        .set(
          'X-Shopify-Hmac-Sha256',
          hmac('sha256', SECRETS.SHOPIFY_SECRET, shopifyOrder, 'base64'),
        )
        .send(shopifyOrder),
    flow: 'orders',
    variables: { order: 450789469 },
  },
  {
    source: 'sw',
    send: (t) => {
      const ts = nowSeconds();
      const sig = hmac('sha256', SW_KEY, `msg_1.${ts}.${swEvent}`, 'base64');
      return request(t.app)
        .post('/hooks/sw')
        .type('json')
        .set('webhook-id', 'msg_1')
        .set('webhook-timestamp', String(ts))
        .set('webhook-signature', `v1a,${'A'.repeat(44)} v1,${sig}`)
        .send(swEvent);
    },
    flow: 'sw-flow',
    variables: { type: 'invoice.paid' },
  },
  {
    source: 'open',
    send: (t) => request(t.app).post('/hooks/open').type('json').send('{"ping":true}'),
    flow: 'open-flow',
    variables: { ping: true },
  },
];

describe('one signed request per preset, end to end', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({ files: FILES, env: ENV, flowBaseUrl: api.url });
  });
  afterAll(() => api.stop());
  beforeEach(() => api.reset());

  it('the example mappings and the inline ones all load', () => {
    expect(t.mappings.errors).toEqual([]);
    expect([...t.mappings.sources.keys()].sort()).toEqual(CASES.map((c) => c.source).sort());
    expect(t.mappings.warnings).toEqual([
      { file: 'open.yaml', message: expect.stringContaining('provider: none') },
    ]);
  });

  it.each(CASES)('$source: verified, routed, executed with the mapped variables', async (c) => {
    const res = await c.send(t);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject(
      c.answer ?? { source: c.source, flowId: c.flow, sessionId: expect.any(String) },
    );
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0].path).toBe(`/cgw/process/v1/orgs/org-1/flows/${c.flow}/execute`);
    expect(api.requests[0].body).toEqual(c.variables);
  });

  // open (none) and contact-form (token) do not sign the body; their tests are in test/verify.
  it.each(CASES.filter((c) => c.source !== 'open' && c.source !== 'contact-form'))(
    '$source: the same request with one body byte changed → 401',
    async (c) => {
      const original = c.send(t);
      // supertest builds the request lazily: swap the body for a tampered copy before it is sent.
      const data = (original as unknown as { _data: string })._data;
      const tampered = data.replace(/[a-z]/, (ch) => (ch === 'a' ? 'b' : 'a'));
      const res = await original.send(tampered === data ? `${data} ` : tampered);
      expect(res.status).toBe(401);
      expect(api.requests).toHaveLength(0);
    },
  );

  it('slack url_verification: the challenge is echoed only when signed', async () => {
    const body =
      '{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}';
    const ts = nowSeconds();
    const sig = hmac('sha256', SECRETS.SLACK_SIGNING_SECRET, `v0:${ts}:${body}`, 'hex');
    const send = (signature: string) =>
      request(t.app)
        .post('/hooks/slack')
        .type('json')
        .set('X-Slack-Request-Timestamp', String(ts))
        .set('X-Slack-Signature', signature)
        .send(body);
    const ok = await send(`v0=${sig}`);
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ challenge: '3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P' });
    expect((await send(`v0=${'0'.repeat(64)}`)).status).toBe(401);
    expect(api.requests).toHaveLength(0);
  });

  it('no log line holds a secret, the flow token or a signature', async () => {
    for (const c of CASES) await c.send(t);
    const logs = t.logs.text();
    for (const secret of [...Object.values(SECRETS), TOKEN]) expect(logs).not.toContain(secret);
    expect(logs).not.toContain(githubSignature(SECRETS.GITHUB_WEBHOOK_SECRET, push).slice(7));
    const handled = t.logs.lines().filter((l) => l.msg === 'hook request handled');
    expect(handled.length).toBeGreaterThanOrEqual(CASES.length);
    expect(handled.find((l) => l.source === 'github')).toMatchObject({
      deliveryId: expect.any(String),
      providerDeliveryId: 'gh-delivery-1',
      source: 'github',
      route: 'push-to-main',
      flow: 'deploy',
      status: 200,
      durationMs: expect.any(Number),
      sessionId: expect.any(String),
      secretIndex: 0,
      mappingVersion: expect.stringMatching(/^[0-9a-f]{12}$/),
    });
    // Stripe's delivery id travels in the body: the event id.
    expect(handled.find((l) => l.source === 'stripe')?.providerDeliveryId).toBe(
      'evt_3MtwBwLkdIwHu7ix28a3tqPa',
    );
  });
});
