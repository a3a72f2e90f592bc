import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { signRequest } from '../../src/verify/sign-request';
import { cli } from '../support/cli';
import { buildApp, githubSignature, mappingsDir, type TestApp } from '../support/harness';

// Issue 10 item 5: `flowhook test --delivery <id>` tries the request a running flowhook stored,
// byte for byte, against the mappings here, and explains it as `flowhook test` explains a file.

const ADMIN = 'test-delivery-admin-token-0123';
const ORDERS_SECRET = 'orders-secret-of-the-server';
const ACME_SECRET = 'acme-secret-of-the-server';
/** The server's clock: long ago, so a signed timestamp checked against now would be stale. */
const T0 = Date.parse('2024-05-01T10:00:00Z');

const orders = (variable: string) => `
verify: { provider: github, secret: "\${ORDERS_SECRET}" }
routes:
  - name: created
    when: [{ header: X-Event, equals: created }]
    flow: order-created
    variables: { id: { path: ${variable}, required: true } }
`;
/** A header the store keeps (no credential-looking name), so the signature can be checked again. */
const ACME = `
verify:
  provider: hmac
  secret: "\${ACME_SECRET}"
  header: X-Acme-Mac
  timestampHeader: X-Acme-Time
  signedContent: "{timestamp}.{body}"
routes: [{ name: all, flow: acme-flow, variables: { n: $.n } }]
`;

describe('flowhook test --delivery <id> (against a listening flowhook)', () => {
  let t: TestApp;
  let server: Server;
  let url: string;
  /** The author's working copy: orders.yaml fixed to read $.orderId. */
  let local: string;
  let refused: string;
  let acme: string;

  async function send(source: string, body: string, headers: Record<string, string>) {
    const res = await fetch(`${url}/hooks/${source}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: res.status, ...((await res.json()) as { deliveryId: string }) };
  }

  beforeAll(async () => {
    t = buildApp({
      files: { 'orders.yaml': orders('$.id'), 'acme.yaml': ACME },
      env: { ORDERS_SECRET, ACME_SECRET },
      config: { adminToken: ADMIN },
      now: () => T0,
    });
    server = t.app.listen(0, '127.0.0.1');
    await new Promise((resolve) => server.once('listening', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    local = mappingsDir({ 'orders.yaml': orders('$.orderId'), 'acme.yaml': ACME });

    const body = '{"orderId":"o-7","total":12}';
    const first = await send('orders', body, {
      'x-event': 'created',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': githubSignature(ORDERS_SECRET, body),
    });
    expect(first.status).toBe(422); // the server's mapping reads $.id
    refused = first.deliveryId;

    const acmeBody = '{"n":3}';
    const signed = signRequest(t.mappings.sources.get('acme')!.verifySpec, {
      rawBody: Buffer.from(acmeBody),
      method: 'POST',
      url: `${url}/hooks/acme`,
      now: T0,
    });
    const second = await send('acme', acmeBody, signed.headers);
    expect(second.status).toBe(200);
    acme = second.deliveryId;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await t.store.close();
    fs.rmSync(local, { recursive: true, force: true });
  });

  const run = (args: string[], env: Record<string, string> = {}) =>
    cli(['test', ...args, '--url', url], { ADMIN_TOKEN: ADMIN, ...env });

  it('the exact stored payload through the fixed mapping here: matched, its value sent, exit 0', async () => {
    const result = await run(['--delivery', refused, '--mappings', local], { ORDERS_SECRET });
    expect(result).toMatchObject({ code: 0, err: '' });
    const lines = result.out.split('\n');
    expect(lines[0]).toMatch(
      new RegExp(
        `^delivery ${refused}: POST /hooks/orders, received 2024-05-01T10:00:00.000Z by source "orders" \\(mapping version [0-9a-f]{12}\\)$`,
      ),
    );
    expect(lines[1]).toMatch(/^tried with .*\/orders\.yaml version [0-9a-f]{12}$/);
    expect(lines[2]).toBe(
      'source orders (orders.yaml), dispatch: first; verified by github, secret #1 when received; not checked again here: the stored request keeps no credentials (its signature was redacted when stored)',
    );
    expect(result.out).toContain('route created: MATCHED');
    expect(result.out).toContain('"id": "o-7"');
    expect(result.out).not.toContain(ORDERS_SECRET);
  });

  it('explains it exactly as flowhook test explains the same payload in a file', async () => {
    const payload = path.join(local, 'payload.json');
    fs.writeFileSync(payload, '{"orderId":"o-7","total":12}');
    const fromFile = await cli(
      ['test', 'orders', payload, '-H', 'X-Event: created', '--mappings', local],
      { ORDERS_SECRET },
    );
    const fromDelivery = await run(['--delivery', refused, '--mappings', local], { ORDERS_SECRET });
    const explanation = (out: string) => out.split('\n').slice(out.startsWith('delivery') ? 3 : 1);
    expect(explanation(fromDelivery.out)).toEqual(explanation(fromFile.out));
    expect(fromFile.code).toBe(fromDelivery.code);
  });

  it("through the server's own (current) mapping: refused as it was, exit 1", async () => {
    const serverCopy = mappingsDir({ 'orders.yaml': orders('$.id') });
    try {
      const result = await run(['--delivery', refused, '--mappings', serverCopy], {
        ORDERS_SECRET,
      });
      expect(result.code).toBe(1);
      expect(result.out).toMatch(/missing_variables|required variables not found/);
    } finally {
      fs.rmSync(serverCopy, { recursive: true, force: true });
    }
  });

  it('one mapping file (a draft) given with --mappings', async () => {
    const draft = path.join(local, 'orders.yaml');
    const result = await run(['--delivery', refused, '--mappings', draft], { ORDERS_SECRET });
    expect(result.code).toBe(0);
    expect(result.out).toContain(`tried with ${draft} version`);
  });

  it('the secret unset here: says so, and still explains', async () => {
    const result = await run(['--delivery', refused, '--mappings', local]);
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'verified by github, secret #1 when received; not checked again here: ORDERS_SECRET is not set',
    );
  });

  it('a signature the store keeps is checked again, at the time it was received: valid', async () => {
    const result = await run(['--delivery', acme, '--mappings', local], { ACME_SECRET });
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'verified by hmac, secret #1 when received; checked again here: valid (secret #1)',
    );
  });

  it('… and with another secret here: does not verify, said plainly (the explanation goes on)', async () => {
    const result = await run(['--delivery', acme, '--mappings', local], {
      ACME_SECRET: 'a-different-secret-here',
    });
    expect(result.code).toBe(0);
    expect(result.out).toContain(
      'checked again here: does NOT verify with the secret set here (signature does not match)',
    );
    expect(result.out).not.toContain('a-different-secret-here');
  });

  it('--json: the delivery, the signature check and the explanation', async () => {
    const result = await run(['--delivery', acme, '--mappings', local, '--json'], {
      ACME_SECRET,
    });
    expect(JSON.parse(result.out)).toMatchObject({
      delivery: { id: acme, source: 'acme', receivedAt: '2024-05-01T10:00:00.000Z' },
      signature: { checked: 'valid' },
      ok: true,
      matched: ['all'],
      executions: [{ route: 'all', request: { body: { n: 3 } } }],
    });
  });

  it.each([
    [
      'an unknown delivery: the 404, exit 1',
      () => [randomUUID()],
      {},
      1,
      /→ 404 delivery_not_found/,
    ],
    [
      'ADMIN_TOKEN unset: exit 2',
      () => [refused],
      { ADMIN_TOKEN: '' },
      2,
      /ADMIN_TOKEN is not set/,
    ],
  ])('%s', async (_what, id, env, code, message) => {
    const result = await run(['--delivery', ...id(), '--mappings', local], env);
    expect(result.code).toBe(code);
    expect(result.err).toMatch(message);
  });

  it('--delivery with a payload file, or neither: a usage error, exit 2', async () => {
    const both = await run(['orders', 'payload.json', '--delivery', refused]);
    expect(both).toMatchObject({ code: 2 });
    expect(both.err).toContain('--delivery takes the request from the stored delivery');
    const neither = await cli(['test']);
    expect(neither).toMatchObject({ code: 2 });
    expect(neither.err).toContain('give <source> <payload-file>, or --delivery <id>');
  });
});
