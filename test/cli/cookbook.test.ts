import { cli, ROOT } from '../support/cli';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';

/**
 * The cookbook of docs/mappings.md: every file of mappings/examples/ runs through
 * `flowhook test` against a payload in the provider's real shape (test/fixtures/examples/),
 * with the headers the provider sends. Each entry: the routes that match and the exact execute
 * body; and at least one delivery that must not match (or must be refused) per provider.
 */

const EXAMPLES = path.join('mappings', 'examples');
const fixture = (name: string) => path.join(ROOT, 'test', 'fixtures', 'examples', name);

interface Explained {
  ok: boolean;
  matched: string[];
  routes: { name: string; held: boolean; conditions: unknown[] }[];
  executions: {
    route: string;
    flowId: string;
    request: { method: string; path: string; body: unknown };
  }[];
  error?: { status: number; code: string; message: string; details: Record<string, unknown> };
  unset: string[];
}

interface Delivery {
  headers?: Record<string, string>;
  query?: Record<string, string>;
}

/** `flowhook test <source> <payload> -H … -q … --mappings mappings/examples --json`. */
async function explain(source: string, payload: string, delivery: Delivery = {}) {
  const args = ['test', source, payload, '--mappings', EXAMPLES, '--json'];
  for (const [name, value] of Object.entries(delivery.headers ?? {})) {
    args.push('-H', `${name}: ${value}`);
  }
  for (const [key, value] of Object.entries(delivery.query ?? {}))
    args.push('-q', `${key}=${value}`);
  const result = await cli(args);
  expect(result.err).toBe('');
  return { code: result.code, json: JSON.parse(result.out) as Explained };
}

/** The execute body of each route that would run, by route name. */
const bodies = (json: Explained) =>
  Object.fromEntries(json.executions.map((e) => [e.route, e.request.body]));

const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-cookbook-'));
let variants = 0;

/** A copy of a JSON fixture with some values changed ('a.b.0.c' paths); undefined deletes. */
function variant(name: string, changes: Record<string, unknown>): string {
  const payload = JSON.parse(fs.readFileSync(fixture(name), 'utf8')) as unknown;
  for (const [dotted, value] of Object.entries(changes)) {
    const keys = dotted.split('.');
    const last = keys.pop() as string;
    let node = payload as Record<string, unknown>;
    for (const key of keys) node = node[key] as Record<string, unknown>;
    if (value === undefined) delete node[last];
    else node[last] = value;
  }
  variants += 1;
  const file = path.join(scratch, `${variants}-${name}`);
  fs.writeFileSync(file, JSON.stringify(payload));
  return file;
}

/** A copy of a form fixture with some fields set; undefined deletes the field. */
function formVariant(name: string, changes: Record<string, string | undefined>): string {
  const form = new URLSearchParams(fs.readFileSync(fixture(name), 'utf8'));
  for (const [field, value] of Object.entries(changes)) {
    if (value === undefined) form.delete(field);
    else form.set(field, value);
  }
  variants += 1;
  const file = path.join(scratch, `${variants}-${name}`);
  fs.writeFileSync(file, form.toString());
  return file;
}

afterAll(() => fs.rmSync(scratch, { recursive: true, force: true }));

const exampleFiles = fs
  .readdirSync(path.join(ROOT, EXAMPLES))
  .filter((f) => f.endsWith('.yaml'))
  .sort();

describe('the cookbook files', () => {
  it('there is one file per cookbook entry', () => {
    expect(exampleFiles).toEqual([
      'github-issue-labeled.yaml',
      'github-pull-request-merged.yaml',
      'github-push-branch.yaml',
      'html-contact-form.yaml',
      'shopify-order-created.yaml',
      'slack-slash-command.yaml',
      'stripe-payment-succeeded.yaml',
      'stripe-subscription-cancelled.yaml',
      'tally-fields.yaml',
      'typeform-answers.yaml',
    ]);
  });

  it('flowhook validate mappings/examples: exit 0 (unset variables are waiting, not errors)', async () => {
    const result = await cli(['validate', EXAMPLES]);
    expect(result.code).toBe(0);
    expect(result.err).toBe('');
    expect(result.out).toMatch(/10 mapping file\(s\) valid/);
  });

  it('flowhook validate with every variable set: the files compile (JSONPath, regexes, verify)', async () => {
    // With a variable unset, a file stops before compiling; set them all so it is checked whole.
    const env: Record<string, string> = {};
    for (const file of exampleFiles) {
      const text = fs.readFileSync(path.join(ROOT, EXAMPLES, file), 'utf8');
      for (const [, name] of text.matchAll(/\$\{([A-Z0-9_]+)\}/g)) env[name] = `test-${name}`;
    }
    env.STRIPE_WEBHOOK_SECRET = 'whsec_dGVzdC1zZWNyZXQ=';
    const result = await cli(['validate', EXAMPLES, '--json'], env);
    expect(result.code).toBe(0);
    const json = JSON.parse(result.out);
    expect(json).toMatchObject({ valid: true, errors: [], waiting: [] });
    expect(json.sources).toHaveLength(exampleFiles.length);
  });

  it.each(exampleFiles)(
    '%s: schema line first, its source named, every ${VAR} named in its comment',
    (file) => {
      const text = fs.readFileSync(path.join(ROOT, EXAMPLES, file), 'utf8');
      expect(text.split('\n')[0]).toBe(
        '# yaml-language-server: $schema=../../schema/mapping.schema.json',
      );
      expect((load(text) as { source: string }).source).toBe(file.replace(/\.yaml$/, ''));
      const comments = text
        .split('\n')
        .filter((line) => line.startsWith('#'))
        .join('\n');
      const envLine = comments.slice(comments.indexOf('# Env: '));
      expect(envLine).toMatch(/^# Env: /);
      for (const [, name] of text.matchAll(/\$\{([A-Z0-9_]+)\}/g)) expect(envLine).toContain(name);
    },
  );

  it('no example source clashes with a source of mappings/', () => {
    const names = (dir: string) =>
      fs
        .readdirSync(path.join(ROOT, dir))
        .filter((f) => /\.ya?ml$/.test(f))
        .map(
          (f) =>
            (load(fs.readFileSync(path.join(ROOT, dir, f), 'utf8')) as { source?: string })
              .source ?? f.replace(/\.ya?ml$/, ''),
        );
    const shipped = names('mappings');
    const examples = names(EXAMPLES);
    expect(new Set(examples).size).toBe(examples.length);
    expect(examples.filter((name) => shipped.includes(name))).toEqual([]);
  });

  it('together they use every key of the language', () => {
    const keys = new Set<string>();
    const types = new Set<string>();
    const scalars = new Set<string>();
    const walk = (node: unknown, inVariables: boolean) => {
      if (Array.isArray(node)) return node.forEach((item) => walk(item, false));
      if (node === null || typeof node !== 'object') return;
      for (const [key, value] of Object.entries(node)) {
        keys.add(key);
        if (key === 'type' && typeof value === 'string') types.add(value);
        if (inVariables && typeof value !== 'object') {
          scalars.add(
            typeof value === 'string' && value.includes('{{') ? 'template' : typeof value,
          );
        }
        walk(value, key === 'variables' || key === 'object');
      }
    };
    for (const file of exampleFiles) {
      walk(load(fs.readFileSync(path.join(ROOT, EXAMPLES, file), 'utf8')), false);
    }
    const language = [
      ...['source', 'verify', 'mode', 'dispatch', 'body', 'jsonFields', 'routes'],
      ...['name', 'when', 'flow', 'org', 'variables'],
      ...['path', 'header', 'query', 'all', 'any', 'not'],
      ...['equals', 'in', 'matches', 'exists', 'contains', 'startsWith', 'endsWith'],
      ...['gt', 'gte', 'lt', 'lte'],
      ...['where', 'pick', 'default', 'required', 'type', 'template', 'value', 'object'],
    ];
    expect(language.filter((key) => !keys.has(key))).toEqual([]);
    expect(
      [...types].filter((t) => ['string', 'number', 'boolean', 'json'].includes(t)).sort(),
    ).toEqual(['boolean', 'json', 'number', 'string']);
    expect([...scalars].sort()).toEqual(['boolean', 'number', 'string', 'template']);
  });
});

describe('GitHub: push to a branch', () => {
  const push = fixture('github-push.json');
  const headers = {
    'X-GitHub-Event': 'push',
    'X-GitHub-Delivery': '72d3162e-cc78-11e3-81ab-4c9367dc0958',
  };

  it('a push to main deploys to production', async () => {
    const { code, json } = await explain('github-push-branch', push, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['deploy-production']);
    expect(json.executions[0].flowId).toBe('GITHUB_DEPLOY_FLOW_ID');
    expect(bodies(json)).toEqual({
      'deploy-production': {
        environment: 'production',
        branch: 'main',
        repository: 'octo-org/octo-app',
        commit: '59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5',
        summary: 'hubot pushed 59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5 to octo-org/octo-app',
        // Every match, in order: a file modified by two commits is listed twice.
        changedFiles: ['src/retry.ts', 'src/retry.ts', 'CHANGELOG.md'],
        addedFiles: ['docs/retries.md'],
        delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      },
    });
  });

  it('a push to release/2.4 deploys to staging', async () => {
    const payload = variant('github-push.json', { ref: 'refs/heads/release/2.4' });
    const { code, json } = await explain('github-push-branch', payload, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['deploy-staging']);
    expect(bodies(json)).toEqual({
      'deploy-staging': {
        environment: 'staging',
        ref: 'refs/heads/release/2.4',
        repository: 'octo-org/octo-app',
        commit: '59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5',
        summary: 'hubot pushed 59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5 to refs/heads/release/2.4',
        delivery: '72d3162e-cc78-11e3-81ab-4c9367dc0958',
      },
    });
  });

  it.each<[string, string, Delivery]>([
    [
      'a push to a feature branch',
      variant('github-push.json', { ref: 'refs/heads/feature/retry' }),
      { headers },
    ],
    [
      'a [skip ci] commit',
      variant('github-push.json', { 'head_commit.message': 'Typo [skip ci]' }),
      { headers },
    ],
    [
      'main being deleted',
      variant('github-push.json', { deleted: true, head_commit: null }),
      { headers },
    ],
    ['another event', push, { headers: { 'X-GitHub-Event': 'create' } }],
  ])('%s: no route matches, exit 1', async (_what, payload, delivery) => {
    const { code, json } = await explain('github-push-branch', payload, delivery);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
    expect(json.executions).toEqual([]);
    expect(json.error).toBeUndefined();
  });
});

describe('GitHub: pull request merged', () => {
  const headers = { 'X-GitHub-Event': 'pull_request' };

  it('closed and merged into main: the release notes flow', async () => {
    const payload = fixture('github-pull-request-closed.json');
    const { code, json } = await explain('github-pull-request-merged', payload, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['merged']);
    expect(bodies(json)).toEqual({
      merged: {
        repository: 'octo-org/octo-app',
        number: 42,
        title: 'Fix the retry delay',
        url: 'https://github.com/octo-org/octo-app/pull/42',
        author: 'monalisa',
        mergedBy: 'hubot',
        mergedAt: '2024-05-14T08:15:47Z',
        mergeCommit: '59b20b8d5c6ff8d09518454d4dd8b7a30f095ab5',
        labels: ['bug', 'backport'],
        size: { additions: 12, deletions: 3, files: 2 },
      },
    });
  });

  it('closed without merging: no match, exit 1, and the trace says why', async () => {
    const payload = variant('github-pull-request-closed.json', {
      'pull_request.merged': false,
      'pull_request.merged_at': null,
      'pull_request.merged_by': null,
      'pull_request.merge_commit_sha': null,
    });
    const { code, json } = await explain('github-pull-request-merged', payload, { headers });
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
    expect(json.routes[0].conditions[2]).toEqual({
      condition: '$.pull_request.merged equals true',
      held: false,
      found: [false],
    });
    const text = await cli(['test', 'github-pull-request-merged', payload, '--mappings', EXAMPLES]);
    expect(text.out).toContain('✗ $.pull_request.merged equals true    found: false');
    expect(text.out).toContain('answer: 202 ignored: no route matched');
  });

  it.each([
    ['merged by a bot', { 'pull_request.user.login': 'dependabot[bot]' }],
    ['merged into another branch', { 'pull_request.base.ref': 'develop' }],
    ['reopened', { action: 'reopened', 'pull_request.merged': false }],
  ])('%s: no match, exit 1', async (_what, changes) => {
    const payload = variant('github-pull-request-closed.json', changes);
    const { code, json } = await explain('github-pull-request-merged', payload, { headers });
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });
});

describe('GitHub: issue labeled', () => {
  const headers = { 'X-GitHub-Event': 'issues' };

  it('the label "bug" added to an open issue: the triage flow', async () => {
    const payload = fixture('github-issues-labeled.json');
    const { code, json } = await explain('github-issue-labeled', payload, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['bug-labeled']);
    expect(bodies(json)).toEqual({
      'bug-labeled': {
        label: 'bug',
        labeledBy: 'monalisa',
        repository: 'octo-org/octo-app',
        issue: {
          number: '57',
          title: 'Retries stop after the first timeout',
          url: 'https://github.com/octo-org/octo-app/issues/57',
          author: 'octocat',
          body: 'After one timeout the job is marked failed and never retried.',
        },
        allLabels: ['bug', 'area/retries'],
        priority: 2,
        notifyOnCall: false,
      },
    });
  });

  it('another label added to an issue already labeled "bug": no match, exit 1', async () => {
    // $.issue.labels still holds "bug"; the condition is on $.label, the one just added.
    const payload = variant('github-issues-labeled.json', {
      label: { id: 208045951, name: 'good first issue', color: '7057ff', default: true },
    });
    const { code, json } = await explain('github-issue-labeled', payload, { headers });
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('"bug" removed (unlabeled): no match, exit 1', async () => {
    const payload = variant('github-issues-labeled.json', { action: 'unlabeled' });
    const { code } = await explain('github-issue-labeled', payload, { headers });
    expect(code).toBe(1);
  });
});

describe('Stripe: payment succeeded', () => {
  it('a payment of 1,299.00: recorded and, being large, alerted (dispatch: all)', async () => {
    const payload = fixture('stripe-payment_intent.succeeded.json');
    const { code, json } = await explain('stripe-payment-succeeded', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['record-payment', 'large-payment']);
    expect(json.executions.map((e) => e.flowId)).toEqual([
      'STRIPE_PAYMENT_FLOW_ID',
      'STRIPE_FINANCE_ALERT_FLOW_ID',
    ]);
    expect(bodies(json)).toEqual({
      'record-payment': {
        eventId: 'evt_3PGxTqLkdIwHu7ix0x3d8hJ2',
        paymentIntent: 'pi_3PGxTqLkdIwHu7ix0kCGF2NT',
        amount: 129900,
        currency: 'eur',
        customer: 'cus_Q6wW4gk3nLr2Ha',
        receiptEmail: 'jenny.rosen@example.com',
        orderId: '10492',
        cart: [
          { sku: 'CHAIR-OAK', qty: 2 },
          { sku: 'TABLE-OAK', qty: 1 },
        ],
        livemode: false,
      },
      'large-payment': {
        paymentIntent: 'pi_3PGxTqLkdIwHu7ix0kCGF2NT',
        text: 'Large payment: 129900 eur for order 10492 (jenny.rosen@example.com)',
      },
    });
  });

  it('a small guest payment without a cart: recorded only; null customer sent as null', async () => {
    const payload = variant('stripe-payment_intent.succeeded.json', {
      'data.object.amount': 2500,
      'data.object.amount_received': 2500,
      'data.object.customer': null,
      'data.object.metadata': { order_id: '10493' },
    });
    const { code, json } = await explain('stripe-payment-succeeded', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['record-payment']);
    expect(bodies(json)['record-payment']).toMatchObject({
      amount: 2500,
      customer: null,
      orderId: '10493',
      cart: [],
    });
  });

  it('a failed payment: no match, exit 1', async () => {
    const payload = variant('stripe-payment_intent.succeeded.json', {
      type: 'payment_intent.payment_failed',
    });
    const { code, json } = await explain('stripe-payment-succeeded', payload);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('no order_id in the metadata: 422 naming route and variable, nothing runs', async () => {
    const payload = variant('stripe-payment_intent.succeeded.json', {
      'data.object.metadata': {},
    });
    const { code, json } = await explain('stripe-payment-succeeded', payload);
    expect(code).toBe(1);
    expect(json.executions).toEqual([]);
    expect(json.error).toMatchObject({
      status: 422,
      code: 'missing_variables',
      details: { variables: ['record-payment.orderId'] },
    });
  });

  it('metadata.cart that is not JSON: 422 invalid_variables', async () => {
    const payload = variant('stripe-payment_intent.succeeded.json', {
      'data.object.metadata.cart': 'CHAIR-OAK x2',
    });
    const { code, json } = await explain('stripe-payment-succeeded', payload);
    expect(code).toBe(1);
    expect(json.error).toMatchObject({
      status: 422,
      code: 'invalid_variables',
      details: {
        variables: [{ name: 'record-payment.cart', reason: 'is text that is not valid JSON' }],
      },
    });
  });
});

describe('Stripe: subscription cancelled', () => {
  it('customer.subscription.deleted: the churn flow, with the customer id (and metadata email)', async () => {
    const payload = fixture('stripe-customer.subscription.deleted.json');
    const { code, json } = await explain('stripe-subscription-cancelled', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['subscription-ended']);
    expect(bodies(json)).toEqual({
      'subscription-ended': {
        stage: 'ended',
        subscription: 'sub_1OqYk2LkdIwHu7ixH1b5mQ3e',
        customer: 'cus_PfzK8u3lY1pQ2s',
        email: 'ops@northwind.example',
        reason: 'cancellation_requested',
        feedback: 'switched_service',
        comment: 'We moved everything to one tool.',
        endedAt: 1715691203,
        prices: ['team_monthly'],
      },
    });
  });

  it('without an email in the metadata: email is left out; the flow looks up the customer', async () => {
    const payload = variant('stripe-customer.subscription.deleted.json', {
      'data.object.metadata': {},
    });
    const { code, json } = await explain('stripe-subscription-cancelled', payload);
    expect(code).toBe(0);
    const body = bodies(json)['subscription-ended'] as Record<string, unknown>;
    expect(body).not.toHaveProperty('email');
    expect(body.customer).toBe('cus_PfzK8u3lY1pQ2s');
  });

  it('cancel at period end (customer.subscription.updated): scheduled', async () => {
    const payload = fixture('stripe-customer.subscription.updated.json');
    const { code, json } = await explain('stripe-subscription-cancelled', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['cancellation-scheduled']);
    expect(bodies(json)).toEqual({
      'cancellation-scheduled': {
        stage: 'scheduled',
        subscription: 'sub_1OqYk2LkdIwHu7ixH1b5mQ3e',
        customer: 'cus_PfzK8u3lY1pQ2s',
        email: 'ops@northwind.example',
        reason: 'cancellation_requested',
        feedback: 'too_expensive',
        comment: null,
        endsAt: 1717200000,
      },
    });
  });

  it('an update of a subscription that was already cancelling: no match, exit 1', async () => {
    const payload = variant('stripe-customer.subscription.updated.json', {
      'data.previous_attributes': { quantity: 4 },
    });
    const { code, json } = await explain('stripe-subscription-cancelled', payload);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });
});

describe('Slack: slash command', () => {
  it('/deploy api to staging (a form): the deploy flow', async () => {
    const { code, json } = await explain('slack-slash-command', fixture('slack-slash-command.txt'));
    expect(code).toBe(0);
    expect(json.matched).toEqual(['deploy']);
    expect(bodies(json)).toEqual({
      deploy: {
        request: 'api to staging',
        user: 'U2147483697',
        channel: 'C2147483705',
        responseUrl: 'https://hooks.slack.com/commands/T0001/1234567890/8DhRq2nXk0WcVb3LmYpZ7aFt',
        announcement: '<@U2147483697> asked for `/deploy api to staging`',
        team: { id: 'T0001', domain: 'northwind' },
      },
    });
  });

  it('the Approve button (a form whose payload field is JSON): the approval flow', async () => {
    const { code, json } = await explain('slack-slash-command', fixture('slack-block-actions.txt'));
    expect(code).toBe(0);
    expect(json.matched).toEqual(['approve']);
    expect(bodies(json)).toEqual({
      approve: {
        deployment: 'api:staging',
        approver: 'U2147483698',
        approverName: 'maria',
        channel: 'C2147483705',
        responseUrl: 'https://hooks.slack.com/actions/T0001/1234567891/Zk4m9QpL2vX7bN1cR8tY3wEa',
      },
    });
  });

  it.each([
    ['/deploy with a text that is not "<service> to <env>"', { text: 'api to the moon' }],
    ['another command', { command: '/weather', text: '94070' }],
  ])('%s: no match, exit 1', async (_what, changes) => {
    const payload = formVariant('slack-slash-command.txt', changes);
    const { code, json } = await explain('slack-slash-command', payload);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('another button: no match, exit 1', async () => {
    const form = new URLSearchParams(fs.readFileSync(fixture('slack-block-actions.txt'), 'utf8'));
    const payload = JSON.parse(form.get('payload') as string);
    payload.actions[0].action_id = 'reject_deploy';
    const file = formVariant('slack-block-actions.txt', { payload: JSON.stringify(payload) });
    const { code, json } = await explain('slack-slash-command', file);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });
});

describe('Typeform: answers by field ref', () => {
  it('a detractor who wants to talk to sales: all three routes run (dispatch: all)', async () => {
    const payload = fixture('typeform-form_response.json');
    const { code, json } = await explain('typeform-answers', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['save-response', 'detractor', 'sales']);
    expect(bodies(json)).toEqual({
      'save-response': {
        responseId: 'a3a12ec67a1365927098a606107fac15',
        submittedAt: '2024-05-14T10:01:30Z',
        email: 'laura@example.com',
        name: 'Laura',
        score: 4,
        interests: ['Automation', 'Talk to sales'],
        newsletter: true,
        userId: 48213,
        source: 'newsletter',
      },
      detractor: {
        email: 'laura@example.com',
        score: 4,
        reason: 'Setting up the webhooks took a whole afternoon.',
      },
      sales: { email: 'laura@example.com', name: 'Laura' },
    });
  });

  it('a promoter who skipped the optional questions: saved only, with the defaults', async () => {
    // A skipped question has no answer at all: the other answers move up in the list.
    const payload = variant('typeform-form_response.json', {
      'form_response.answers': [
        {
          type: 'email',
          email: 'sam@example.com',
          field: { id: 'Kx9QwE3rTy', type: 'email', ref: 'email' },
        },
        { type: 'number', number: 10, field: { id: 'Nps0aBcDeF', type: 'nps', ref: 'nps' } },
      ],
      'form_response.hidden': {},
    });
    const { code, json } = await explain('typeform-answers', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['save-response']);
    expect(bodies(json)).toEqual({
      'save-response': {
        responseId: 'a3a12ec67a1365927098a606107fac15',
        submittedAt: '2024-05-14T10:01:30Z',
        email: 'sam@example.com',
        name: '',
        score: 10,
        interests: [],
        newsletter: false,
        source: 'direct',
      },
    });
  });

  it('a response to another form: no match, exit 1', async () => {
    const payload = variant('typeform-form_response.json', { 'form_response.form_id': 'aB3dE9' });
    const { code, json } = await explain('typeform-answers', payload);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('no email answer: 422 naming each route that needed it', async () => {
    const answers = JSON.parse(fs.readFileSync(fixture('typeform-form_response.json'), 'utf8'))
      .form_response.answers as { field: { ref: string } }[];
    const payload = variant('typeform-form_response.json', {
      'form_response.answers': answers.filter((a) => a.field.ref !== 'email'),
    });
    const { code, json } = await explain('typeform-answers', payload);
    expect(code).toBe(1);
    expect(json.error).toMatchObject({
      status: 422,
      code: 'missing_variables',
      details: { variables: ['save-response.email', 'detractor.email', 'sales.email'] },
    });
  });

  it('a hidden user_id that is not a number: 422 invalid_variables', async () => {
    const payload = variant('typeform-form_response.json', {
      'form_response.hidden.user_id': 'xxxxx',
    });
    const { code, json } = await explain('typeform-answers', payload);
    expect(code).toBe(1);
    expect(json.error?.message).toBe(
      'variables of the wrong type: save-response.userId "xxxxx" is not a number',
    );
  });
});

describe('Tally: fields by label and key', () => {
  it('a beta signup: the signup flow', async () => {
    const payload = fixture('tally-form-response.json');
    const { code, json } = await explain('tally-fields', payload);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['beta-signup']);
    expect(bodies(json)).toEqual({
      'beta-signup': {
        responseId: '45E6Zb',
        submittedAt: '2024-05-14T12:17:00.000Z',
        email: 'ada@analytical.example',
        name: 'Ada Lovelace',
        teamSize: 12,
        website: 'analytical.example',
        referrer: 'producthunt',
        automate: [
          'What do you want to automate? (Invoices)',
          'What do you want to automate? (Reporting)',
        ],
        plan: {
          chosen: ['b1c4e1a2-6a3f-4f9e-9d55-0c0e1b7f2a10'],
          options: [
            { id: '5e0f9c1d-2b7a-4c8e-8f31-7d6a5b4c3e21', text: 'Starter' },
            { id: 'b1c4e1a2-6a3f-4f9e-9d55-0c0e1b7f2a10', text: 'Team' },
            { id: '0d9e8f7a-6b5c-4d3e-2f1a-0b9c8d7e6f54', text: 'Enterprise' },
          ],
        },
        // An empty question is listed with value null: found, so sent as null.
        notes: null,
      },
    });
  });

  it('a response to another form: no match, exit 1', async () => {
    const payload = variant('tally-form-response.json', { 'data.formId': 'wMx0Pq' });
    const { code, json } = await explain('tally-fields', payload);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('the email question renamed: 422 missing_variables email', async () => {
    // Selecting by label breaks when someone rewords the question; keys do not change.
    const payload = variant('tally-form-response.json', { 'data.fields.2.label': 'Email' });
    const { code, json } = await explain('tally-fields', payload);
    expect(code).toBe(1);
    expect(json.error).toMatchObject({
      status: 422,
      code: 'missing_variables',
      details: { variables: ['email'] },
    });
  });
});

describe('Shopify: order created', () => {
  const headers = {
    'X-Shopify-Topic': 'orders/create',
    'X-Shopify-Shop-Domain': 'northwind-home.myshopify.com',
    'X-Shopify-Webhook-Id': 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
    'X-Shopify-API-Version': '2024-04',
  };

  it('a large wholesale order: fulfilment, alert and wholesale (dispatch: all)', async () => {
    const payload = fixture('shopify-orders-create.json');
    const { code, json } = await explain('shopify-order-created', payload, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['fulfil', 'large-order', 'wholesale']);
    expect(json.executions[2].request.path).toBe(
      '/cgw/process/v1/orgs/WHOLESALE_ORG_ID/flows/SHOPIFY_WHOLESALE_FLOW_ID/execute',
    );
    expect(bodies(json)).toEqual({
      fulfil: {
        order: 'gid://shopify/Order/5829213061432',
        number: '#1042',
        email: 'bob.norman@example.com',
        total: 645.84,
        currency: 'USD',
        customer: { firstName: 'Bob', lastName: 'Norman', email: 'bob.norman@example.com' },
        skus: ['CHAIR-OAK-NAT', 'TABLE-OAK-S'],
        quantities: [2, 1],
        shipTo: {
          first_name: 'Bob',
          last_name: 'Norman',
          address1: 'Chestnut Street 92',
          address2: '',
          city: 'Louisville',
          province: 'Kentucky',
          province_code: 'KY',
          zip: '40202',
          country: 'United States',
          country_code: 'US',
          phone: '555-625-1199',
          company: 'Norman Interiors LLC',
        },
        giftMessage: 'Happy housewarming!',
        shop: 'northwind-home.myshopify.com',
        webhookId: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
      },
      'large-order': {
        text: 'Large order #1042: 645.84 USD from bob.norman@example.com (northwind-home.myshopify.com)',
      },
      wholesale: {
        order: 'gid://shopify/Order/5829213061432',
        company: 'Norman Interiors LLC',
        email: 'bob.norman@example.com',
      },
    });
  });

  it('a small order tagged "wholesale-pending", no cart attributes: fulfilment only', async () => {
    const payload = variant('shopify-orders-create.json', {
      total_price: '89.00',
      tags: 'wholesale-pending',
      note_attributes: [],
    });
    const { code, json } = await explain('shopify-order-created', payload, { headers });
    expect(code).toBe(0);
    expect(json.matched).toEqual(['fulfil']);
    expect(bodies(json).fulfil).toMatchObject({ total: 89, giftMessage: '' });
  });

  it('another topic (orders/updated): no match, exit 1', async () => {
    const { code, json } = await explain(
      'shopify-order-created',
      fixture('shopify-orders-create.json'),
      { headers: { ...headers, 'X-Shopify-Topic': 'orders/updated' } },
    );
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('a small untagged test order: no match, exit 1', async () => {
    const payload = variant('shopify-orders-create.json', {
      test: true,
      total_price: '12.00',
      tags: '',
    });
    const { code, json } = await explain('shopify-order-created', payload, { headers });
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
  });

  it('without the shop domain header: 422 missing_variables fulfil.shop', async () => {
    const { code, json } = await explain(
      'shopify-order-created',
      fixture('shopify-orders-create.json'),
      { headers: { 'X-Shopify-Topic': 'orders/create' } },
    );
    expect(code).toBe(1);
    expect(json.error?.details).toEqual({ variables: ['fulfil.shop'] });
  });
});

describe('A plain HTML form', () => {
  const delivery: Delivery = {
    query: { token: 'from-the-page', form: 'pricing-page' },
    headers: { Referer: 'https://www.example.com/pricing' },
  };

  it('a team of 40: the sales flow', async () => {
    const { code, json } = await explain('html-contact-form', fixture('html-form.txt'), delivery);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['sales-lead']);
    expect(bodies(json)).toEqual({
      'sales-lead': {
        name: 'Grace Hopper',
        email: 'grace@cobol.example',
        company: 'Cobol Systems',
        teamSize: 40,
        topic: 'pricing',
        message: 'We run about 200 flows a day. Can we talk?',
        newsletter: true,
        form: 'pricing-page',
        page: 'https://www.example.com/pricing',
        subject: 'New lead: Grace Hopper (Cobol Systems, 40 people)',
      },
    });
  });

  it('a team of 3, newsletter unchecked, no honeypot field: self-serve', async () => {
    const payload = formVariant('html-form.txt', {
      team_size: '3',
      newsletter: undefined,
      website: undefined,
    });
    const { code, json } = await explain('html-contact-form', payload, delivery);
    expect(code).toBe(0);
    expect(json.matched).toEqual(['self-serve']);
    expect(bodies(json)).toEqual({
      'self-serve': {
        name: 'Grace Hopper',
        email: 'grace@cobol.example',
        teamSize: 3,
        newsletter: false,
      },
    });
  });

  it('the honeypot filled in (a bot): no match, exit 1', async () => {
    const payload = formVariant('html-form.txt', { website: 'http://spam.example' });
    const { code, json } = await explain('html-contact-form', payload, delivery);
    expect(code).toBe(1);
    expect(json.matched).toEqual([]);
    expect(json.error).toBeUndefined();
  });

  it('a team size that is not a number: 422 invalid_variables', async () => {
    const payload = formVariant('html-form.txt', { team_size: 'lots' });
    const { code, json } = await explain('html-contact-form', payload, delivery);
    expect(code).toBe(1);
    expect(json.matched).toEqual(['sales-lead']);
    expect(json.error).toMatchObject({
      status: 422,
      code: 'invalid_variables',
      details: { variables: [{ name: 'teamSize', reason: '"lots" is not a number' }] },
    });
  });

  it('an empty name is found (as ""), so `required` does not refuse it', async () => {
    const payload = formVariant('html-form.txt', { name: '' });
    const { code, json } = await explain('html-contact-form', payload, delivery);
    expect(code).toBe(0);
    expect(bodies(json)['sales-lead']).toMatchObject({ name: '' });
  });
});
