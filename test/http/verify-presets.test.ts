import { createHash, createHmac } from 'node:crypto';
import request from 'supertest';
import { createFlowClient } from '../../src/flows/create-flow-client';
import { createApp } from '../../src/http/create-app';
import { loadMappings } from '../../src/mappings/load-mappings';
import { PROVIDERS } from '../../src/verify/provider-names';
import { FakeFlowApi } from '../support/fake-flow-api';
import { mappingsDir, memoryLogger, ORG, TOKEN, testStore } from '../support/harness';

// Issue #3: one signed request per verification preset, through createApp() and the real HTTP
// stack, to a fake flow API; the provider handshakes; TRUST_PROXY and publicUrl for URL signing.
const NOW = 1_767_225_600_000;
const T = NOW / 1000;
const PUBLIC = 'https://hooks.example.com';
const SW_KEY = Buffer.alloc(32, 7);
const SECRETS = {
  GITHUB: 'gh-secret-e2e-1',
  STRIPE: 'whsec_stripe_e2e_secret',
  SW: `whsec_${SW_KEY.toString('base64')}`,
  GITLAB: 'gitlab-token-e2e-1',
  SLACK: 'slack-signing-secret-e2e',
  SHOPIFY: 'shopify-secret-e2e-1',
  TWILIO: 'twilio-auth-token-e2e',
  TYPEFORM: 'typeform-secret-e2e',
  TALLY: 'tally-secret-e2e-1',
  LINEAR: 'lin_wh_e2e_secret',
  PADDLE: 'pdl_ntfset_e2e_secret',
  SQUARE: 'square-signature-key-e2e',
  ZENDESK: 'zendesk-secret-e2e-1',
  HUBSPOT: 'hubspot-client-secret-e2e',
  INTERCOM: 'intercom-client-secret-e2e',
  MAILGUN: 'mailgun-signing-key-e2e',
  CALENDLY: 'calendly-signing-key-e2e',
  CALCOM: 'calcom-secret-e2e-1',
  WEBFLOW: 'webflow-secret-e2e-1',
  HMAC: 'hmac-secret-e2e-1',
  BASIC: 'basic-password-e2e',
  TOKEN_SECRET: 'shared-token-e2e-1',
} as const;

/** A mapping whose one route sends `event: <path>` to the flow named after the source. */
const mapping = (verify: string, eventPath = '$.event') => `
verify: { ${verify} }
routes: [{ name: all, flow: "flow-\${SOURCE_FLOW}", variables: { event: "${eventPath}" } }]
`;
const FILES: Record<string, string> = {
  'github.yaml': mapping('provider: github, secret: "${GITHUB}"'),
  'stripe.yaml': mapping('provider: stripe, secret: "${STRIPE}"'),
  'sw.yaml': mapping('provider: standard-webhooks, secret: "${SW}"'),
  'svix.yaml': mapping('provider: svix, secret: "${SW}"'),
  'gitlab.yaml': mapping('provider: gitlab, secret: "${GITLAB}"'),
  'gitlab-signed.yaml': mapping('provider: gitlab, secret: "${SW}"'),
  'slack.yaml': mapping('provider: slack, secret: "${SLACK}"'),
  'shopify.yaml': mapping('provider: shopify, secret: "${SHOPIFY}"'),
  'twilio.yaml': mapping(
    `provider: twilio, secret: "\${TWILIO}", publicUrl: "${PUBLIC}/hooks/twilio"`,
    '$.Body',
  ),
  'twilio-proxied.yaml': mapping('provider: twilio, secret: "${TWILIO}"', '$.Body'),
  'typeform.yaml': mapping('provider: typeform, secret: "${TYPEFORM}"'),
  'tally.yaml': mapping('provider: tally, secret: "${TALLY}"'),
  'linear.yaml': mapping('provider: linear, secret: "${LINEAR}"'),
  'paddle.yaml': mapping('provider: paddle, secret: "${PADDLE}"'),
  'square.yaml': mapping(`provider: square, secret: "\${SQUARE}", publicUrl: "${PUBLIC}/square"`),
  'zendesk.yaml': mapping('provider: zendesk, secret: "${ZENDESK}"'),
  'hubspot.yaml': mapping(
    `provider: hubspot, secret: "\${HUBSPOT}", publicUrl: "${PUBLIC}/hubspot"`,
    '$[0].subscriptionType',
  ),
  'intercom.yaml': mapping('provider: intercom, secret: "${INTERCOM}"', '$.topic'),
  'mailgun.yaml': mapping('provider: mailgun, secret: "${MAILGUN}"', "$['event-data'].event"),
  'calendly.yaml': mapping('provider: calendly, secret: "${CALENDLY}"'),
  'calcom.yaml': mapping('provider: calcom, secret: "${CALCOM}"', '$.triggerEvent'),
  'webflow.yaml': mapping('provider: webflow, secret: "${WEBFLOW}"', '$.triggerType'),
  'hmac.yaml': mapping(
    'provider: hmac, secret: "${HMAC}", header: X-Acme-Signature, separator: ",", ' +
      'prefix: "v1=", timestampPrefix: "t=", signedContent: "{timestamp}.{body}"',
  ),
  'basic.yaml': mapping('provider: basic, username: flowhook, secret: "${BASIC}"'),
  'token.yaml': mapping('provider: token, secret: "${TOKEN_SECRET}"'),
  'none.yaml': mapping('provider: none'),
};
const ENV = { ...SECRETS, SOURCE_FLOW: 'x' };

const hmac = (alg: string, key: string | Buffer, data: string, enc: 'hex' | 'base64') =>
  createHmac(alg, key).update(data).digest(enc);
const hex = (key: string | Buffer, data: string) => hmac('sha256', key, data, 'hex');
const b64 = (key: string | Buffer, data: string) => hmac('sha256', key, data, 'base64');
const sw = (id: string, body: string, brand = 'webhook') => ({
  [`${brand}-id`]: id,
  [`${brand}-timestamp`]: String(T),
  [`${brand}-signature`]: `v1,${b64(SW_KEY, `${id}.${T}.${body}`)}`,
});

interface Signed {
  readonly source: string;
  readonly body: string;
  readonly headers: Record<string, string>;
  /** Path and query after /hooks/<source>. */
  readonly query?: string;
  readonly type?: 'json' | 'form';
  /** What the route extracts as `event`. */
  readonly event: unknown;
  readonly deliveryId?: string;
  /** Signatures to look for in logs and answers (besides the secrets). */
  /** The body without its signature, for presets that sign inside the body (mailgun). */
  readonly unsigned?: string;
}

const twilioForm = 'Body=Hello+%E2%9C%93&From=%2B15551234567&MessageSid=SM1';
const twilioSigned = (url: string) =>
  hmac('sha1', SECRETS.TWILIO, `${url}BodyHello ✓From+15551234567MessageSidSM1`, 'base64');
const mailgunBody = JSON.stringify({
  signature: {
    timestamp: String(T),
    token: 'tok-e2e-1',
    signature: hex(SECRETS.MAILGUN, `${T}tok-e2e-1`),
  },
  'event-data': { id: 'mg-event-1', event: 'delivered' },
});
const hubspotBody = '[{"eventId":1,"subscriptionType":"contact.creation"}]';
const linearBody = `{"event":"Issue.create","webhookTimestamp":${NOW}}`;
const zendeskTs = new Date(NOW).toISOString().replace('.000', '');

const CASES: Signed[] = [
  {
    source: 'github',
    body: '{"event":"push","ref":"refs/heads/main"}',
    headers: { 'X-GitHub-Event': 'push', 'X-GitHub-Delivery': 'gh-1' },
    event: 'push',
    deliveryId: 'gh-1',
  },
  {
    source: 'stripe',
    body: '{"id":"evt_e2e","event":"invoice.paid"}',
    headers: {},
    event: 'invoice.paid',
    deliveryId: 'evt_e2e',
  },
  {
    source: 'sw',
    body: '{"event":"sw.ok"}',
    headers: sw('msg_sw', '{"event":"sw.ok"}'),
    event: 'sw.ok',
    deliveryId: 'msg_sw',
  },
  {
    source: 'svix',
    body: '{"event":"svix.ok"}',
    headers: sw('msg_svix', '{"event":"svix.ok"}', 'svix'),
    event: 'svix.ok',
    deliveryId: 'msg_svix',
  },
  {
    source: 'gitlab',
    body: '{"event":"push"}',
    headers: { 'X-Gitlab-Token': SECRETS.GITLAB, 'Idempotency-Key': 'gl-idem-1' },
    event: 'push',
    deliveryId: 'gl-idem-1',
  },
  {
    source: 'gitlab-signed',
    body: '{"event":"merge_request"}',
    headers: sw('gl-msg-1', '{"event":"merge_request"}'),
    event: 'merge_request',
    deliveryId: 'gl-msg-1',
  },
  {
    source: 'slack',
    body: '{"type":"event_callback","event_id":"Ev1","event":"app_mention"}',
    headers: {},
    event: 'app_mention',
    deliveryId: 'Ev1',
  },
  {
    source: 'shopify',
    body: '{"event":"orders/create","title":"Crème ☕"}',
    headers: { 'X-Shopify-Webhook-Id': 'shop-1' },
    event: 'orders/create',
    deliveryId: 'shop-1',
  },
  {
    source: 'twilio',
    body: twilioForm,
    type: 'form',
    query: '?account=a1',
    headers: {
      'X-Twilio-Signature': twilioSigned(`${PUBLIC}/hooks/twilio?account=a1`),
      'I-Twilio-Idempotency-Token': 'tw-1',
    },
    event: 'Hello ✓',
    deliveryId: 'tw-1',
  },
  {
    source: 'typeform',
    body: '{"event_id":"tf-1","event":"form_response"}',
    headers: {},
    event: 'form_response',
    deliveryId: 'tf-1',
  },
  {
    source: 'tally',
    body: '{"eventId":"ta-1","event":"FORM_RESPONSE"}',
    headers: {},
    event: 'FORM_RESPONSE',
    deliveryId: 'ta-1',
  },
  {
    source: 'linear',
    body: linearBody,
    headers: { 'Linear-Delivery': 'lin-1' },
    event: 'Issue.create',
    deliveryId: 'lin-1',
  },
  {
    source: 'paddle',
    body: '{"event_id":"evt_pdl","event":"transaction.completed"}',
    headers: {},
    event: 'transaction.completed',
    deliveryId: 'evt_pdl',
  },
  {
    source: 'square',
    body: '{"event_id":"sq-1","event":"payment.created"}',
    headers: {},
    event: 'payment.created',
    deliveryId: 'sq-1',
  },
  {
    source: 'zendesk',
    body: '{"event":"ticket.created"}',
    headers: { 'X-Zendesk-Webhook-Invocation-Id': 'zd-1' },
    event: 'ticket.created',
    deliveryId: 'zd-1',
  },
  { source: 'hubspot', body: hubspotBody, headers: {}, event: 'contact.creation' },
  {
    source: 'intercom',
    body: '{"id":"notif_e2e","topic":"conversation.user.created"}',
    headers: {},
    event: 'conversation.user.created',
    deliveryId: 'notif_e2e',
  },
  {
    source: 'mailgun',
    body: mailgunBody,
    unsigned: '{"event-data":{"id":"mg-event-1","event":"delivered"}}',
    headers: {},
    event: 'delivered',
    deliveryId: 'mg-event-1',
  },
  {
    source: 'calendly',
    body: '{"event":"invitee.created"}',
    headers: {},
    event: 'invitee.created',
  },
  {
    source: 'calcom',
    body: '{"triggerEvent":"BOOKING_CREATED"}',
    headers: {},
    event: 'BOOKING_CREATED',
  },
  {
    source: 'webflow',
    body: '{"triggerType":"form_submission"}',
    headers: {},
    event: 'form_submission',
  },
  { source: 'hmac', body: '{"event":"acme.ok"}', headers: {}, event: 'acme.ok' },
  {
    source: 'basic',
    body: '{"event":"basic.ok"}',
    headers: {
      Authorization: `Basic ${Buffer.from(`flowhook:${SECRETS.BASIC}`).toString('base64')}`,
    },
    event: 'basic.ok',
  },
  {
    source: 'token',
    body: '{"event":"token.ok"}',
    headers: { 'X-Webhook-Token': SECRETS.TOKEN_SECRET },
    event: 'token.ok',
  },
];
// `none` verifies nothing, so it has no failure rows; it is sent once below.
const SIGNED = CASES;

/** The signature headers each preset needs for `body`, computed here the way the provider does. */
function signatureHeaders(c: Signed): Record<string, string> {
  const { body } = c;
  switch (c.source) {
    case 'github':
      return { 'X-Hub-Signature-256': `sha256=${hex(SECRETS.GITHUB, body)}` };
    case 'stripe':
      return { 'Stripe-Signature': `t=${T},v1=${hex(SECRETS.STRIPE, `${T}.${body}`)}` };
    case 'slack':
      return {
        'X-Slack-Request-Timestamp': String(T),
        'X-Slack-Signature': `v0=${hex(SECRETS.SLACK, `v0:${T}:${body}`)}`,
      };
    case 'shopify':
      return { 'X-Shopify-Hmac-Sha256': b64(SECRETS.SHOPIFY, body) };
    case 'typeform':
      return { 'Typeform-Signature': `sha256=${b64(SECRETS.TYPEFORM, body)}` };
    case 'tally':
      return { 'Tally-Signature': b64(SECRETS.TALLY, body) };
    case 'linear':
      return { 'Linear-Signature': hex(SECRETS.LINEAR, body) };
    case 'paddle':
      return { 'Paddle-Signature': `ts=${T};h1=${hex(SECRETS.PADDLE, `${T}:${body}`)}` };
    case 'square':
      return { 'x-square-hmacsha256-signature': b64(SECRETS.SQUARE, `${PUBLIC}/square${body}`) };
    case 'zendesk':
      return {
        'X-Zendesk-Webhook-Signature': b64(SECRETS.ZENDESK, `${zendeskTs}${body}`),
        'X-Zendesk-Webhook-Signature-Timestamp': zendeskTs,
      };
    case 'hubspot':
      return {
        'X-HubSpot-Signature-v3': b64(SECRETS.HUBSPOT, `POST${PUBLIC}/hubspot${body}${NOW}`),
        'X-HubSpot-Request-Timestamp': String(NOW),
      };
    case 'intercom':
      return { 'X-Hub-Signature': `sha1=${hmac('sha1', SECRETS.INTERCOM, body, 'hex')}` };
    case 'calendly':
      return { 'Calendly-Webhook-Signature': `t=${T},v1=${hex(SECRETS.CALENDLY, `${T}.${body}`)}` };
    case 'calcom':
      return { 'X-Cal-Signature-256': hex(SECRETS.CALCOM, body) };
    case 'webflow':
      return {
        'x-webflow-timestamp': String(NOW),
        'x-webflow-signature': hex(SECRETS.WEBFLOW, `${NOW}:${body}`),
      };
    case 'hmac':
      return { 'X-Acme-Signature': `t=${T},v1=${hex(SECRETS.HMAC, `${T}.${body}`)}` };
    default:
      return {};
  }
}

function build(trustProxy: boolean | number | string = false) {
  const mappings = loadMappings(mappingsDir(FILES), ENV);
  const logs = memoryLogger();
  return {
    mappings,
    logs,
    app: (api: FakeFlowApi) =>
      createApp({
        config: { bodyLimit: 1024 * 1024, flowOrgId: ORG, dryRun: false, trustProxy },
        logger: logs.logger,
        mappings: () => mappings,
        flowClient: createFlowClient({ baseUrl: api.url, token: TOKEN, timeoutMs: 2000 }),
        store: testStore(),
        now: () => NOW,
      }),
  };
}

describe('every verification preset, end to end', () => {
  let api: FakeFlowApi;
  const built = build();
  let app: ReturnType<typeof built.app>;
  const answers: string[] = [];
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    app = built.app(api);
  });
  afterAll(() => api.stop());
  beforeEach(() => api.reset());

  const send = (c: Signed, headers = { ...c.headers, ...signatureHeaders(c) }, body = c.body) =>
    request(app)
      .post(`/hooks/${c.source}${c.query ?? ''}`)
      .type(c.type ?? 'json')
      .set(headers)
      .send(body)
      .then((res) => {
        answers.push(res.text);
        return res;
      });

  it('every mapping loads, one source per preset', () => {
    expect(built.mappings.errors).toEqual([]);
    expect([...built.mappings.sources.keys()].sort()).toEqual(
      [...CASES.map((c) => c.source), 'twilio-proxied', 'none'].sort(),
    );
    const providers = new Set([...built.mappings.sources.values()].map((s) => s.provider));
    expect([...providers].sort()).toEqual([...PROVIDERS].sort());
  });

  it('none: an unsigned request → executed (and the source is listed as a warning)', async () => {
    const res = await request(app).post('/hooks/none').type('json').send('{"event":"open"}');
    expect(res.status).toBe(200);
    expect(api.requests[0]?.body).toEqual({ event: 'open' });
    expect(built.mappings.warnings).toEqual([
      { file: 'none.yaml', message: expect.stringContaining('provider: none') },
    ]);
  });

  it.each(CASES)('$source: a signed request → verified, routed, executed', async (c) => {
    const res = await send(c);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ source: c.source, flowId: 'flow-x' });
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.body).toEqual({ event: c.event });
    const line = built.logs.lines().find((l) => l.source === c.source && l.status === 200);
    expect(line).toMatchObject({ secretIndex: 0 });
    expect(line?.providerDeliveryId).toBe(c.deliveryId);
  });

  it.each(SIGNED)('$source: the body changed after signing → 401, no flow call', async (c) => {
    const tampered = c.body.replace(/e/, 'E');
    const res = await send(c, { ...c.headers, ...signatureHeaders(c) }, tampered);
    // basic, token and the gitlab token sign nothing: a changed body still carries valid credentials.
    const unsigned = ['basic', 'token', 'gitlab'].includes(c.source);
    expect(res.status).toBe(unsigned ? 200 : 401);
    if (!unsigned) expect(api.requests).toHaveLength(0);
  });

  it.each(SIGNED)('$source: no signature → 401 with a reason, never 500', async (c) => {
    const res = await send(c, {}, c.unsigned ?? c.body);
    expect(res.status).toBe(401);
    expect(res.body).toMatchObject({ code: 'invalid_signature', error: expect.any(String) });
    expect(api.requests).toHaveLength(0);
  });

  it.each(SIGNED.filter((c) => c.unsigned === undefined))(
    '$source: garbage in every header → 401, never 500',
    async (c) => {
      const garbage = Object.fromEntries(
        Object.keys({ ...c.headers, ...signatureHeaders(c) }).map((k) => [k, 'v1=,;t= \u00e9']),
      );
      const res = await send(c, garbage);
      expect(res.status).toBe(401);
    },
  );

  it('twilio without publicUrl, behind a proxy not trusted → 401 (the URL differs)', async () => {
    const url = `${PUBLIC}/hooks/twilio-proxied`;
    const res = await request(app)
      .post('/hooks/twilio-proxied')
      .type('form')
      .set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hooks.example.com' })
      .set('X-Twilio-Signature', twilioSigned(url))
      .send(twilioForm);
    expect(res.status).toBe(401);
  });

  it('mailgun: the same signature block with another event → 401 (token replay)', async () => {
    const forged = mailgunBody.replace('"delivered"', '"unsubscribed"');
    const c = CASES.find((x) => x.source === 'mailgun') as Signed;
    expect((await send(c)).status).toBe(200);
    const res = await send(c, {}, forged);
    expect(res.status).toBe(401);
    expect(res.body.error).toMatch(/replay/);
  });

  describe('handshakes, answered by flowhook only when signed', () => {
    const handshake = (c: Signed, signed: boolean) =>
      send(c, signed ? { ...c.headers, ...signatureHeaders(c) } : c.headers);

    it.each<[string, Signed, number, unknown]>([
      [
        'slack url_verification',
        {
          source: 'slack',
          body: '{"type":"url_verification","challenge":"ch-e2e-1"}',
          headers: {},
          event: null,
        },
        200,
        { challenge: 'ch-e2e-1' },
      ],
      [
        'github ping',
        {
          source: 'github',
          body: '{"zen":"Design for failure.","hook_id":1}',
          headers: { 'X-GitHub-Event': 'ping' },
          event: null,
        },
        200,
        { ok: true },
      ],
      [
        'intercom ping',
        {
          source: 'intercom',
          body: '{"type":"notification_event","topic":"ping","id":"notif_p"}',
          headers: {},
          event: null,
        },
        200,
        { ok: true },
      ],
      [
        'calcom PING',
        {
          source: 'calcom',
          body: '{"triggerEvent":"PING","payload":{"type":"Test"}}',
          headers: {},
          event: null,
        },
        200,
        { ok: true },
      ],
    ])('%s: signed → answered, no flow call; unsigned → 401', async (_name, c, status, body) => {
      const res = await handshake(c, true);
      expect(res.status).toBe(status);
      expect(res.body).toEqual(body);
      expect((await handshake(c, false)).status).toBe(401);
      expect(api.requests).toHaveLength(0);
    });

    it('slack ssl_check (a signed form post) → 200 with an empty text body', async () => {
      const c: Signed = {
        source: 'slack',
        body: 'ssl_check=1&token=abc',
        type: 'form',
        headers: {},
        event: null,
      };
      const res = await handshake(c, true);
      expect(res.status).toBe(200);
      expect(res.headers['content-type']).toMatch(/^text\/plain/);
      expect(res.text).toBe('');
      expect(api.requests).toHaveLength(0);
    });
  });

  it('no answer and no log line holds a secret or an expected signature', () => {
    const everything = `${answers.join('\n')}\n${built.logs.text()}`;
    for (const secret of [...Object.values(SECRETS), TOKEN])
      expect(everything).not.toContain(secret);
    for (const c of CASES) {
      for (const value of Object.values(signatureHeaders(c))) {
        const digests = value.match(/[A-Za-z0-9+/=]{27,}/g) ?? [];
        for (const digest of digests) expect(everything).not.toContain(digest);
      }
    }
  });
});

describe('URL-signing presets behind a proxy (TRUST_PROXY)', () => {
  let api: FakeFlowApi;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
  });
  afterAll(() => api.stop());

  it('twilio without publicUrl, TRUST_PROXY=true and X-Forwarded-Proto/-Host → the public URL verifies', async () => {
    const app = build(true).app(api);
    const url = `${PUBLIC}/hooks/twilio-proxied?x=1`;
    const res = await request(app)
      .post('/hooks/twilio-proxied?x=1')
      .type('form')
      .set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hooks.example.com' })
      .set('X-Twilio-Signature', twilioSigned(url))
      .send(twilioForm);
    expect(res.status).toBe(200);
    expect(api.requests.at(-1)?.body).toEqual({ event: 'Hello ✓' });
  });

  it('twilio JSON (bodySHA256) through HTTP → verified, body hash checked', async () => {
    const app = build(true).app(api);
    const body = '{"Body":"json ✓"}';
    const hash = createHash('sha256').update(body).digest('hex');
    const path = `/hooks/twilio-proxied?bodySHA256=${hash}`;
    const sig = hmac('sha1', SECRETS.TWILIO, `${PUBLIC}${path}`, 'base64');
    const post = (text: string) =>
      request(app)
        .post(path)
        .type('json')
        .set({ 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': 'hooks.example.com' })
        .set('X-Twilio-Signature', sig)
        .send(text);
    expect((await post(body)).status).toBe(200);
    expect((await post('{"Body":"json ✗"}')).status).toBe(401);
  });
});
