/**
 * Issue 13: the console in a real browser (Debian's Chromium driven by playwright-core) against a
 * real flowhook (startServer: store, worker, hot reload) and the fake flow API. Elements are found
 * by role and accessible name. Every console message of type error and every failed request is
 * collected for the whole run and must be none (the one 401 of the wrong-token sign-in excepted:
 * the browser itself reports a 4xx answer as a console error).
 *
 * CONSOLE_SCREENSHOTS=1 saves a screenshot of each screen to docs/console/.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startServer, type RunningServer } from '../../src/server';
import { FakeFlowApi } from '../support/fake-flow-api';
import { githubSignature } from '../support/harness';
import { until } from '../support/until';

jest.setTimeout(180_000);

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const ADMIN_TOKEN = 'console-admin-token-0123456789';
const SECRET = 'orders-github-secret';
const ROOT = path.resolve(__dirname, '..', '..');
const SHOTS = process.env.CONSOLE_SCREENSHOTS ? path.join(ROOT, 'docs', 'console') : undefined;

const ORDERS = `source: orders
verify:
  provider: github
  secret: \${ORDERS_SECRET}
routes:
  - name: created
    when:
      - header: X-GitHub-Event
        equals: order
      - path: $.action
        equals: created
    flow: order-created
    variables:
      id: { path: $.id, required: true }
  - name: other
    flow: order-other
    variables:
      id: $.id
`;

const BILLING = `source: billing
verify:
  provider: github
  secret: \${ORDERS_SECRET}
routes:
  - name: invoice
    flow: invoice-run
    variables:
      invoice: $.invoice
`;

describe('the console in Chromium (issue 13)', () => {
  let api: FakeFlowApi;
  let server: RunningServer;
  let browser: Browser;
  let page: Page;
  let dir: string;
  let base: string;
  const problems: string[] = [];
  let expectedSignInFailures = 0;
  let sent = 0;

  const adminHeaders = { authorization: `Bearer ${ADMIN_TOKEN}` };

  const send = async (source: string, payload: unknown, event = 'order') => {
    const body = JSON.stringify(payload);
    sent += 1;
    const res = await fetch(`${base}/hooks/${source}`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': event,
        'x-github-delivery': `gh-${sent}-${Date.now()}`,
        'x-hub-signature-256': githubSignature(SECRET, body),
      },
      body,
    });
    return (await res.json()) as { deliveryId: string; status?: string };
  };

  /**
   * Replaces the editor's text as a user pasting it would: CodeMirror takes the paste itself.
   * (Typing through the browser's own editing commands would have Chromium write style
   * attributes into the editor, which the console's CSP refuses.)
   */
  const replaceEditorText = async (text: string) => {
    await page.getByRole('textbox', { name: 'Mapping (YAML)' }).click();
    await page.keyboard.press('ControlOrMeta+a');
    await page.evaluate(`navigator.clipboard.writeText(${JSON.stringify(text)})`);
    await page.keyboard.press('ControlOrMeta+v');
  };

  const shot = async (name: string) => {
    if (SHOTS) await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
  };

  beforeAll(async () => {
    // What a fresh clone needs: the console built (vite), only when its sources changed.
    execFileSync(
      process.execPath,
      [path.join(ROOT, 'scripts', 'build-if-needed.js'), '--console'],
      {
        cwd: ROOT,
        stdio: 'inherit',
      },
    );
    api = await new FakeFlowApi().start();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-console-'));
    fs.mkdirSync(path.join(dir, 'mappings'));
    fs.writeFileSync(path.join(dir, 'mappings', 'orders.yaml'), ORDERS);
    fs.writeFileSync(path.join(dir, 'mappings', 'billing.yaml'), BILLING);
    server = await startServer({
      PORT: '0',
      HOST: '127.0.0.1',
      MAPPINGS_DIR: path.join(dir, 'mappings'),
      DATA_DIR: path.join(dir, 'data'),
      FLOW_BASE_URL: api.url,
      FLOW_ORG_ID: 'org-1',
      FLOW_API_TOKEN: 'flow-token-not-shown',
      ADMIN_TOKEN,
      CONSOLE_EDIT: 'on',
      MAPPINGS_WATCH: 'on',
      ORDERS_SECRET: SECRET,
      RETRY_MAX_ATTEMPTS: '1',
      LOG_LEVEL: 'silent',
    });
    base = `http://127.0.0.1:${server.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    const context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() !== 'error') return;
      const signInRefusal =
        /status of 401/.test(message.text()) && message.location().url.endsWith('/api/session');
      if (signInRefusal && expectedSignInFailures > 0) {
        expectedSignInFailures -= 1;
        return;
      }
      problems.push(`console: ${message.text()} (${message.location().url})`);
    });
    await page.exposeFunction('reportViolation', (text: string) => problems.push(`csp: ${text}`));
    // CSP violations in detail (the console line does not say which element).
    await page.addInitScript({
      content: `document.addEventListener('securitypolicyviolation', (e) => {
        const target = e.target && e.target.outerHTML ? e.target.outerHTML.slice(0, 200) : String(e.target);
        window.reportViolation(e.violatedDirective + ' sample=' + e.sample + ' target=' + target);
      });`,
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    page.on('requestfailed', (request) => {
      // The live stream is closed by the page when it leaves the Deliveries screen.
      const closedStream =
        request.url().endsWith('/api/deliveries/stream') &&
        request.failure()?.errorText === 'net::ERR_ABORTED';
      if (!closedStream)
        problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(base) && !request.url().startsWith('data:')) {
        problems.push(`request to another host: ${request.url()}`);
      }
    });
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    await api?.stop();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('signs in: a wrong token is refused as invalid, the right one opens the console', async () => {
    await page.goto(`${base}/console/`);
    const token = page.getByLabel('Admin token');
    await shot('sign-in');
    expectedSignInFailures = 1;
    await token.fill('not-the-admin-token-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'invalid' }).waitFor();
    await token.fill(ADMIN_TOKEN);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Deliveries' }).waitFor();
    expect(expectedSignInFailures).toBe(0);
    const cookies = await page.context().cookies();
    expect(cookies).toEqual([
      expect.objectContaining({ name: 'flowhook_session', httpOnly: true, sameSite: 'Strict' }),
    ]);
  });

  it('shows a webhook sent while the Deliveries page is open, without a reload', async () => {
    await page.getByText('Live: new deliveries appear').waitFor();
    api.answer(400, { error: 'flow order-other is not deployed' });
    const { deliveryId } = await send('orders', { action: 'Created', id: 'o-1' });
    await page.getByRole('link', { name: `Delivery ${deliveryId}` }).waitFor();
    const row = page.getByRole('row').filter({ hasText: deliveryId.slice(-8) });
    await row.getByText('failed').waitFor();
    await shot('deliveries');
  });

  it('explains the failed condition with the value found; replay after the fix succeeds as attempt 2', async () => {
    const { items } = (await (
      await fetch(`${base}/api/deliveries?source=orders`, {
        headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
      })
    ).json()) as { items: { id: string }[] };
    const id = items[0].id;
    await page.getByRole('link', { name: `Delivery ${id}` }).click();
    await page.getByRole('heading', { name: /Delivery/ }).waitFor();
    const explanation = page.getByRole('region', { name: 'Routing explanation' });
    await explanation.getByText('$.action equals "created"').waitFor();
    const condition = explanation
      .getByRole('listitem')
      .filter({ hasText: '$.action equals' })
      .last();
    await expect(condition.innerText()).resolves.toMatch(
      /✗[\s\S]*does not hold[\s\S]*found: "Created"/,
    );
    await page.getByRole('list', { name: 'Attempts' }).getByText('Attempt 1: failed').waitFor();
    await shot('delivery');

    // The fix: the sender spells it "Created". Hot reload takes the file.
    api.reset();
    fs.writeFileSync(
      path.join(dir, 'mappings', 'orders.yaml'),
      ORDERS.replace('equals: created', 'equals: Created'),
    );
    const fixed = createHash('sha256')
      .update(fs.readFileSync(path.join(dir, 'mappings', 'orders.yaml')))
      .digest('hex')
      .slice(0, 12);
    await until(
      async () => {
        const res = await fetch(`${base}/api/sources`, {
          headers: { authorization: `Bearer ${ADMIN_TOKEN}` },
        });
        const body = (await res.json()) as { sources: { name: string; version: string }[] };
        return body.sources.some((s) => s.name === 'orders' && s.version === fixed);
      },
      10_000,
      'hot reload of the fixed mapping',
    );
    await page.getByRole('button', { name: 'Replay' }).click();
    await page.getByRole('status').filter({ hasText: 'succeeded' }).waitFor();
    await page.getByRole('list', { name: 'Attempts' }).getByText('Attempt 2: succeeded').waitFor();
    expect(api.requests.at(-1)?.path).toContain('/flows/order-created/execute');
  });

  it('bulk replays the 20 failed deliveries of one source, more than one page', async () => {
    api.answer(422, { error: 'invoice-run refused' });
    for (let i = 0; i < 20; i++) await send('billing', { invoice: `inv-${i}` }, 'invoice');
    api.reset();
    await page.goto(`${base}/console/#/deliveries?source=billing&status=failed&limit=10`);
    await page.getByRole('button', { name: 'Load more' }).waitFor();
    expect(await page.getByRole('link', { name: /^Delivery / }).count()).toBe(10);
    await page.getByRole('button', { name: 'Replay all matching' }).click();
    const progress = page.getByRole('status', { name: 'Bulk replay progress' });
    await progress
      .getByText(/Bulk replay finished: 20 of 20 done — 20 succeeded, 0 failed/)
      .waitFor({
        timeout: 60_000,
      });
    await shot('bulk-replay');
    expect(api.requests.filter((r) => r.path.includes('/flows/invoice-run/')).length).toBe(20);
  });

  it('playground: a draft makes a non-matching payload match before saving; a typo shows its line; the save reaches the file and the next webhook', async () => {
    const file = path.join(dir, 'mappings', 'orders.yaml');
    const before = fs.readFileSync(file, 'utf8');
    await page.goto(`${base}/console/#/playground?source=orders`);
    await page.getByRole('heading', { name: 'Playground' }).waitFor();
    await page.getByRole('radio', { name: 'a pasted payload' }).check();
    await page
      .getByRole('textbox', { name: 'Payload', exact: true })
      .fill(JSON.stringify({ action: 'shipped', id: 'o-7' }));
    await page
      .getByRole('textbox', { name: 'Headers (one per line, Name: value)' })
      .fill('content-type: application/json\nx-github-event: order');
    const result = page.getByRole('region', { name: 'Draft result' });
    await page.getByText('Would run: other').waitFor();

    const draft = before.replace('equals: Created', 'equals: shipped');
    await replaceEditorText(draft);
    await page.getByText('Would run: created').waitFor();
    await result.getByText('"o-7"').first().waitFor();
    expect(fs.readFileSync(file, 'utf8')).toBe(before); // nothing saved yet
    await shot('playground');

    // A typo: `equal` for `equals`, on line 9.
    await replaceEditorText(draft.replace('equals: shipped', 'equal: shipped'));
    const problemsRegion = page.getByRole('region', { name: 'Problems' });
    await problemsRegion.getByText(/line 11, column \d+: .*equal/).waitFor();
    await shot('playground-error');

    await replaceEditorText(draft);
    await page.getByText('Would run: created').waitFor();
    await page.getByRole('button', { name: 'Save mapping' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved orders.yaml' }).waitFor();
    expect(fs.readFileSync(file, 'utf8')).toBe(draft);
    expect(fs.readdirSync(path.join(dir, 'mappings', '.flowhook-backup'))).toHaveLength(1);

    const count = api.requests.length;
    await until(
      async () => {
        await send('orders', { action: 'shipped', id: `o-${api.requests.length}` });
        return api.requests.slice(count).some((r) => r.path.includes('/flows/order-created/'));
      },
      10_000,
      'the saved mapping to route the next webhook',
      200,
    );
  });

  it('shows every source with its preset, routes and flows, file and last delivery', async () => {
    await page.goto(`${base}/console/#/sources`);
    const table = page.getByRole('table', { name: /Every loaded source/ });
    const orders = table
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: 'orders' }) });
    await orders.getByText('github').waitFor();
    await orders.getByText('order-created').waitFor();
    await orders.getByText('orders.yaml').waitFor();
    await shot('sources');
  });

  it('pauses a source from the Sources screen (after confirming): its delivery waits queued and runs once resumed (issue 14)', async () => {
    api.answerFlow('invoice-run', { kind: 'answer', status: 200, body: undefined });
    const runs = () =>
      api
        .callsOf('invoice-run')
        .filter((c) => (c.body as { invoice: string }).invoice === 'inv-paused');
    await page.goto(`${base}/console/#/sources`);
    const table = page.getByRole('table', { name: /Every loaded source/ });
    const billing = table
      .getByRole('row')
      .filter({ has: page.getByRole('rowheader', { name: 'billing' }) });
    await billing.getByText('serving').waitFor();
    // Declined at the question: nothing is paused.
    page.once('dialog', (dialog) => void dialog.dismiss());
    await billing.getByRole('button', { name: 'Pause source billing' }).click();
    await billing.getByRole('button', { name: 'Pause source billing' }).waitFor();
    expect(
      await (await fetch(`${base}/api/limits`, { headers: adminHeaders })).json(),
    ).toMatchObject({
      pauses: [],
    });
    page.once('dialog', (dialog) => void dialog.accept());
    await billing.getByRole('button', { name: 'Pause source billing' }).click();
    await page.getByRole('status').filter({ hasText: 'source billing paused' }).waitFor();
    await billing.getByText('paused', { exact: true }).waitFor();
    await billing.getByRole('button', { name: 'Resume source billing' }).waitFor();
    await shot('sources-paused');

    const answer = await send('billing', { invoice: 'inv-paused' });
    expect(answer).toMatchObject({ status: 'queued' });
    const { deliveryId } = answer;
    // The worker looked at it and sent it back to wait for the resume.
    await until(
      async () => {
        const detail = (await (
          await fetch(`${base}/api/deliveries/${deliveryId}`, { headers: adminHeaders })
        ).json()) as { state: string; nextAttemptAt: string | null };
        return detail.state === 'queued' && detail.nextAttemptAt !== null;
      },
      10_000,
      'the paused delivery to be sent back to wait',
    );
    await page.goto(`${base}/console/#/deliveries?source=billing`);
    const row = page.getByRole('row').filter({ hasText: deliveryId.slice(-8) });
    await row.getByText('queued').waitFor();
    expect(runs()).toHaveLength(0);

    await page.goto(`${base}/console/#/sources`);
    await billing.getByRole('button', { name: 'Resume source billing' }).click();
    await page.getByRole('status').filter({ hasText: 'source billing resumed' }).waitFor();
    await billing.getByText('serving').waitFor();
    await page.goto(`${base}/console/#/deliveries?source=billing`);
    await row.getByText('succeeded').waitFor();
    expect(runs()).toHaveLength(1);
  });

  it('had no console error, failed request or request to another host during the run', () => {
    expect(problems).toEqual([]);
  });
});
