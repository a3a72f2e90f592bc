import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, githubSignature, type TestApp } from '../support/harness';

// Issue 15: the hook route reads its body and sets its security headers itself instead of
// through express.raw and helmet's middleware chain. These are the rows that change could break.

const SECRET = 'hook-route-secret';
const FILES = {
  'github.yaml': `
verify:
  provider: github
  secret: \${SECRET}
routes:
  - name: any
    flow: f
    variables: { ref: $.ref }
`,
};
const LIMIT = 16 * 1024;

describe('the hook route reads bodies and answers with the security headers', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({ files: FILES, env: { SECRET }, flowBaseUrl: api.url, bodyLimit: LIMIT });
    server = http.createServer(t.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await api.stop();
  });
  beforeEach(() => api.reset());

  const good = '{"ref":"refs/heads/main"}';

  /** Sends `chunks` as a chunked body (no Content-Length), one write each. */
  function chunked(chunks: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
    const body = chunks.join('');
    return new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port,
          method: 'POST',
          path: '/hooks/github',
          headers: {
            'Content-Type': 'application/json',
            'Transfer-Encoding': 'chunked',
            'X-Hub-Signature-256': githubSignature(SECRET, body),
          },
        },
        (res) => {
          const parts: Buffer[] = [];
          res.on('data', (c: Buffer) => parts.push(c));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(parts).toString()) as Record<string, unknown>,
            }),
          );
        },
      );
      req.on('error', reject);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    });
  }

  it('a chunked body (no Content-Length) within the limit is read whole and runs', async () => {
    const res = await chunked(['{"ref":', '"refs/heads/', 'main"}']);
    expect(res.status).toBe(200);
    expect(api.requests.map((r) => r.body)).toEqual([{ ref: 'refs/heads/main' }]);
  });

  it('a chunked body that grows past the limit is refused with 413 and nothing runs', async () => {
    const pad = 'x'.repeat(4096);
    const res = await chunked(['{"pad":"', pad, pad, pad, pad, pad, '"}']);
    expect(res.status).toBe(413);
    expect(res.body.code).toBe('body_too_large');
    expect(api.requests).toHaveLength(0);
    // The connection and the route still work.
    expect((await chunked([good])).status).toBe(200);
  });

  it('a body cut off mid-way is logged as invalid_body, stores and runs nothing', async () => {
    const before = (await t.store.list({ limit: 100 })).items.length;
    const logged = () =>
      t.logs.lines().filter((line) => line.code === 'invalid_body' && line.status === 400);
    const already = logged().length;
    await new Promise<void>((resolve) => {
      const req = http.request({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/hooks/github',
        headers: { 'Content-Type': 'application/json', 'Content-Length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"ref":"refs/heads/', () => setImmediate(() => req.destroy()));
      req.on('close', () => resolve());
    });
    await waitFor(() => logged().length > already);
    expect(api.requests).toHaveLength(0);
    expect((await t.store.list({ limit: 100 })).items.length).toBe(before);
    expect((await request(t.app).get('/healthz')).status).toBe(200);
  });

  it('a path of another shape still reaches the hook route through the router', async () => {
    // An absolute-form target (RFC 9112 §3.2.2) is not the shape the direct dispatch takes.
    const body = good;
    const raw = [
      `POST http://127.0.0.1:${port}/hooks/github HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Content-Type: application/json',
      `Content-Length: ${Buffer.byteLength(body)}`,
      `X-Hub-Signature-256: ${githubSignature(SECRET, body)}`,
      'Connection: close',
      '',
      body,
    ].join('\r\n');
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1', () => socket.write(raw));
      const parts: Buffer[] = [];
      socket.on('data', (c: Buffer) => parts.push(c));
      socket.on('end', () => resolve(Buffer.concat(parts).toString()));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer.toLowerCase()).toContain('content-security-policy:');
    expect(api.requests.map((r) => r.body)).toEqual([{ ref: 'refs/heads/main' }]);
    // Upper case and a trailing slash take the direct dispatch, as the router would match them.
    const upper = await request(t.app)
      .post('/HOOKS/github/?x=1')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature(SECRET, good))
      .send(good);
    expect(upper.status).toBe(200);
  });

  it('hook answers carry exactly the security headers of every other route', async () => {
    const reference = securityHeaders((await request(t.app).get('/healthz')).headers);
    expect(Object.keys(reference)).toEqual(
      expect.arrayContaining([
        'content-security-policy',
        'x-frame-options',
        'x-content-type-options',
        'strict-transport-security',
        'referrer-policy',
      ]),
    );
    const answers = [
      // accepted and run
      await request(t.app)
        .post('/hooks/github')
        .set('Content-Type', 'application/json')
        .set('X-Hub-Signature-256', githubSignature(SECRET, good))
        .send(good),
      // refused by the pipeline (401), by the body reader (413), unknown source (404)
      await request(t.app).post('/hooks/github').set('Content-Type', 'application/json').send(good),
      await request(t.app)
        .post('/hooks/github')
        .set('Content-Type', 'application/json')
        .send('x'.repeat(LIMIT + 1)),
      await request(t.app).post('/hooks/nope').send(good),
      // a path the router cannot decode, and the wrong method
      await request(t.app).post('/hooks/%ff').send(good),
      await request(t.app).get('/hooks/github'),
    ];
    expect(answers.map((a) => a.status)).toEqual([200, 401, 413, 404, 400, 405]);
    for (const answer of answers) {
      expect(securityHeaders(answer.headers)).toEqual(reference);
      expect(answer.headers['x-powered-by']).toBeUndefined();
    }
    // Every answer the hook route gives is per delivery, refusals too (401, 413, 404).
    expect(answers.slice(0, 4).map((a) => a.headers['cache-control'])).toEqual(
      Array(4).fill('no-store'),
    );
    expect(answers[0].headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Number(answers[0].headers['content-length'])).toBe(
      Buffer.byteLength(JSON.stringify(answers[0].body)),
    );
  });
});

const SECURITY = [
  'content-security-policy',
  'cross-origin-resource-policy',
  'referrer-policy',
  'strict-transport-security',
  'x-content-type-options',
  'x-frame-options',
];

function securityHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    SECURITY.filter((name) => headers[name] !== undefined).map((name) => [name, headers[name]]),
  );
}

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > until) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
