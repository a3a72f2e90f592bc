import { cli } from '../support/cli';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';
import { buildApp, githubSignature, type TestApp } from '../support/harness';

const ADMIN = 'cli-admin-token-0123456789';
const SECRET = 'cli-orders-secret-value';
const FILES = {
  'orders.yaml': `
verify: { provider: github, secret: '\${ORDERS_SECRET}' }
routes:
  - name: created
    when: [{ header: X-Event, equals: created }]
    flow: order-created
    variables: { id: { path: $.id, required: true } }
`,
};

describe('flowhook deliveries / flowhook replay (against a listening flowhook)', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  let server: Server;
  let url: string;
  let port: number;
  const env = () => ({ ADMIN_TOKEN: ADMIN });

  async function post(event: string, payload: unknown): Promise<{ status: number; body: never }> {
    const body = JSON.stringify(payload);
    const res = await fetch(`${url}/hooks/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-event': event,
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': githubSignature(SECRET, body),
      },
      body,
    });
    return { status: res.status, body: (await res.json()) as never };
  }

  let succeeded: string;
  let failed: string;

  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({
      files: FILES,
      env: { ORDERS_SECRET: SECRET },
      flowBaseUrl: api.url,
      config: { adminToken: ADMIN },
    });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    port = (server.address() as AddressInfo).port;
    url = `http://127.0.0.1:${port}`;
    const ok = await post('created', { id: 'o-1' });
    expect(ok.status).toBe(200);
    succeeded = (ok.body as { deliveryId: string }).deliveryId;
    api.answer(400);
    const refused = await post('created', { id: 'o-2' });
    expect(refused.status).toBe(502);
    failed = (refused.body as { deliveryId: string }).deliveryId;
    api.answer(200);
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await api.stop();
  });

  describe('flowhook deliveries', () => {
    it('prints a table, newest first', async () => {
      const result = await cli(['deliveries', '--url', url], env());
      expect(result).toMatchObject({ code: 0, err: '' });
      const lines = result.out.trimEnd().split('\n');
      expect(lines[0]).toMatch(/^RECEIVED\s+ID\s+SOURCE\s+STATE\s+ROUTES\s+ATTEMPTS\s+LAST ERROR$/);
      expect(lines[1]).toContain(failed);
      expect(lines[1]).toMatch(
        /\s+orders\s+failed\s+created→order-created\s+1\s+upstream_error: .*400/,
      );
      expect(lines[2]).toContain(succeeded);
      expect(lines[2]).toMatch(/\s+orders\s+succeeded\s+created→order-created\s+1$/);
      expect(lines[3]).toBe('2 deliveries');
      expect(result.out).not.toContain(ADMIN);
    });

    it('--status failed --json prints the API answer', async () => {
      const result = await cli(['deliveries', '--status', 'failed', '--json', '--url', url], env());
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toEqual({
        items: [expect.objectContaining({ id: failed, state: 'failed', attempts: 1 })],
        nextCursor: null,
      });
    });

    it('--limit 1 says how to get the next page', async () => {
      const result = await cli(['deliveries', '--limit', '1', '--url', url], env());
      expect(result.code).toBe(0);
      const cursor = /more: add --cursor (\S+)/.exec(result.out)?.[1];
      expect(cursor).toBeDefined();
      const next = await cli(
        ['deliveries', '--limit', '1', '--cursor', cursor as string, '--url', url],
        env(),
      );
      expect(next.out).toContain(succeeded);
      expect(next.out).not.toContain('more:');
    });

    it('<id> prints the delivery with the routing explanation stored when it was received (issue 13)', async () => {
      const ignored = (await post('deleted', { id: 'o-3' })).body as { deliveryId: string };
      const result = await cli(['deliveries', ignored.deliveryId, '--url', url], env());
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out).toContain(`delivery ${ignored.deliveryId}`);
      expect(result.out).toMatch(
        /routing explanation, as received with orders\.yaml version [0-9a-f]{12}/,
      );
      expect(result.out).toContain('verified by github, secret #1');
      expect(result.out).toContain('route created: no match');
      expect(result.out).toContain('✗ header X-Event equals "created"    found: "deleted"');
      expect(result.out).toContain('answer: 202 ignored: no route matched');
      const ran = await cli(['deliveries', failed, '--url', url], env());
      expect(ran.out).toContain('route created: MATCHED');
      expect(ran.out).toContain('execute (route created):');
      expect(ran.out).toMatch(/1\. \S+ route created → flow order-created: failed \(HTTP 400\)/);
      // Filters by flow and by id.
      const byId = await cli(
        ['deliveries', '--search', failed.slice(-8), '--json', '--url', url],
        env(),
      );
      expect(JSON.parse(byId.out).items.map((d: { id: string }) => d.id)).toEqual([failed]);
      const byFlow = await cli(
        ['deliveries', '--flow', 'order-created', '--json', '--url', url],
        env(),
      );
      expect(JSON.parse(byFlow.out).items).toHaveLength(2);
    });

    it('--source with no deliveries: "no deliveries", exit 0', async () => {
      const result = await cli(['deliveries', '--source', 'nope', '--url', url], env());
      expect(result).toEqual({ code: 0, out: 'no deliveries\n', err: '' });
    });

    it('the URL defaults to 127.0.0.1:$PORT', async () => {
      const result = await cli(['deliveries', '--json'], { ...env(), PORT: String(port) });
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out).items.length).toBeGreaterThanOrEqual(2);
    });

    it('a bad filter: the 400 is printed, exit 1', async () => {
      const result = await cli(['deliveries', '--limit', '0', '--url', url], env());
      expect(result.code).toBe(1);
      expect(result.out).toBe('');
      expect(result.err).toMatch(
        /^flowhook deliveries: GET \/api\/deliveries → 400 invalid_request: query parameter limit: must be a whole number from 1 to 500\n$/,
      );
    });

    it('ADMIN_TOKEN unset: exit 2 with one clear line, nothing sent', async () => {
      const result = await cli(['deliveries', '--url', url], {});
      expect(result).toEqual({
        code: 2,
        out: '',
        err: 'flowhook deliveries: ADMIN_TOKEN is not set; set it to the ADMIN_TOKEN of the running flowhook\n',
      });
    });

    it('a wrong ADMIN_TOKEN: the 401, exit 1, the token not printed', async () => {
      const result = await cli(['deliveries', '--url', url], {
        ADMIN_TOKEN: 'not-the-right-token-000',
      });
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/→ 401 unauthorized: .*\n {2}\(this ADMIN_TOKEN is not the one/);
      expect(result.err).not.toContain('not-the-right-token-000');
    });

    it('a flowhook without ADMIN_TOKEN: 404, exit 1, with a hint', async () => {
      const plain = buildApp({ files: FILES, env: { ORDERS_SECRET: SECRET } });
      const other = plain.app.listen(0, '127.0.0.1');
      await new Promise((resolve) => other.once('listening', resolve));
      try {
        const result = await cli(
          ['deliveries', '--url', `http://127.0.0.1:${(other.address() as AddressInfo).port}`],
          env(),
        );
        expect(result.code).toBe(1);
        expect(result.err).toMatch(/→ 404 not_found: .*\n {2}\(the admin API is off there/);
      } finally {
        other.closeAllConnections();
        await new Promise((resolve) => other.close(resolve));
      }
    });

    it('nothing listening: exit 1 saying so', async () => {
      const result = await cli(['deliveries', '--url', await refusingUrl()], env());
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/no answer from http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/);
    });

    it('a --url that is not http(s): exit 2', async () => {
      const result = await cli(['deliveries', '--url', 'ftp://x'], env());
      expect(result.code).toBe(2);
      expect(result.err).toMatch(/--url "ftp:\/\/x" is not an http/);
    });
  });

  describe('flowhook replay', () => {
    it('replays the failed delivery through the current mappings: succeeded, exit 0', async () => {
      const before = api.requests.length;
      const result = await cli(['replay', failed, '--url', url], env());
      expect(result).toMatchObject({ code: 0, err: '' });
      expect(result.out).toMatch(
        new RegExp(`^delivery ${failed} replayed with mapping version \\w+: succeeded\n`),
      );
      expect(result.out).toMatch(
        /attempt 2: route created → flow order-created: succeeded, session session-\d+ \(\d+ ms\)/,
      );
      expect(api.requests.length).toBe(before + 1);
      expect(api.requests[api.requests.length - 1].body).toEqual({ id: 'o-2' });
      expect((await t.store.get(failed))?.state).toBe('succeeded');
    });

    it('--json prints the API answer', async () => {
      const result = await cli(['replay', succeeded, '--json', '--url', url], env());
      expect(result.code).toBe(0);
      expect(JSON.parse(result.out)).toMatchObject({
        deliveryId: succeeded,
        state: 'succeeded',
        attempts: [{ number: 2, outcome: 'succeeded' }],
      });
    });

    it('a replay that ends queued prints when the next attempt is due, exit 0', async () => {
      api.answer(503);
      try {
        const result = await cli(['replay', succeeded, '--url', url], env());
        expect(result.code).toBe(0);
        expect(result.out).toMatch(/: queued\n/);
        expect(result.out).toMatch(/failed \(503\): upstream_error: /);
        expect(result.out).toMatch(/queued: the next attempt is due at \d{4}-/);
      } finally {
        api.answer(200);
      }
    });

    it('an unknown id: the 404, exit 1', async () => {
      const id = randomUUID();
      const result = await cli(['replay', id, '--url', url], env());
      expect(result.code).toBe(1);
      expect(result.err).toBe(
        `flowhook replay: POST /api/deliveries/${id}/replay → 404 delivery_not_found: no delivery with id ${id}\n`,
      );
    });

    it('an id that is not a UUID: the 400, exit 1', async () => {
      const result = await cli(['replay', 'abc/../x', '--url', url], env());
      expect(result.code).toBe(1);
      expect(result.err).toMatch(/→ 400 invalid_request: path parameter id: /);
    });

    it('ADMIN_TOKEN unset: exit 2', async () => {
      const result = await cli(['replay', failed, '--url', url], {});
      expect(result.code).toBe(2);
      expect(result.err).toBe(
        'flowhook replay: ADMIN_TOKEN is not set; set it to the ADMIN_TOKEN of the running flowhook\n',
      );
    });
  });
});

describe('flowhook deliveries says why a delivery failed and marks dry-run (issue 10 item 4)', () => {
  let t: TestApp;
  let server: Server;
  let url: string;
  const env = { ADMIN_TOKEN: ADMIN };

  beforeAll(async () => {
    // No flow API: dry-run.
    t = buildApp({ files: FILES, env: { ORDERS_SECRET: SECRET }, config: { adminToken: ADMIN } });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.store.close();
  });

  async function post(payload: unknown): Promise<{ status: number; deliveryId: string }> {
    const body = JSON.stringify(payload);
    const res = await fetch(`${url}/hooks/orders`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-event': 'created',
        'x-github-delivery': randomUUID(),
        'x-hub-signature-256': githubSignature(SECRET, body),
      },
      body,
    });
    return { status: res.status, ...((await res.json()) as { deliveryId: string }) };
  }

  it('a 422 refusal shows its code and message; a dry-run shows (dry-run)', async () => {
    const dry = await post({ id: 'o-1' });
    expect(dry.status).toBe(200);
    const refused = await post({ nope: true });
    expect(refused.status).toBe(422);

    const result = await cli(['deliveries', '--url', url], env);
    expect(result).toMatchObject({ code: 0, err: '' });
    const lines = result.out.split('\n');
    expect(lines.find((l) => l.includes(refused.deliveryId))).toMatch(
      /\s+orders\s+failed\s+-\s+0\s+missing_variables: required variables not found/,
    );
    expect(lines.find((l) => l.includes(dry.deliveryId))).toMatch(
      /\s+orders\s+succeeded \(dry-run\)\s+created→order-created\s+0$/,
    );

    const one = await cli(['deliveries', refused.deliveryId, '--url', url], env);
    expect(one.out).toContain(
      '  last error: missing_variables: required variables not found in the request: id\n',
    );
    const dryOne = await cli(['deliveries', dry.deliveryId, '--url', url], env);
    expect(dryOne.out).toContain('succeeded (dry-run: nothing reached a flow)');
    expect(dryOne.out).not.toContain('last error');
  });
});
