import request from 'supertest';
import { loadMappings } from '../../src/mappings/load-mappings';
import { buildApp, githubSignature, mappingsDir, type TestApp } from '../support/harness';

const OPEN = `
verify: { provider: none }
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`;
const FORM = `
verify: { provider: token, query: token, secret: form-token }
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`;
const SIGNED = `
verify: { provider: github, secret: gh-secret }
rateLimit: { requests: 2, per: 1m }
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`;
const UNLIMITED = `
verify: { provider: none }
rateLimit: off
routes: [{ name: r, flow: f, variables: { n: $.n } }]
`;

const post = (t: TestApp, path: string, from?: string) => {
  const req = request(t.app).post(path).type('json');
  if (from) req.set('X-Forwarded-For', from);
  return req.send('{"n":1}');
};

/** Sends `count` requests one after the other; their statuses. */
async function statuses(count: number, send: () => request.Test): Promise<number[]> {
  const result: number[] = [];
  for (let i = 0; i < count; i++) result.push((await send()).status);
  return result;
}

const total = async (t: TestApp) =>
  Object.values(await t.store.counts()).reduce((sum, n) => sum + n, 0);

describe('per-source rate limit (issue 9, item 4)', () => {
  it('a none source: 60 requests a minute per address by default, the 61st is 429 with Retry-After, not stored, logged', async () => {
    const t = buildApp({ files: { 'open.yaml': OPEN } });
    expect(await statuses(60, () => post(t, '/hooks/open'))).toEqual(Array(60).fill(200));
    const refused = await post(t, '/hooks/open');
    expect(refused.status).toBe(429);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(refused.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(refused.body).toMatchObject({ code: 'rate_limited', retryAfter: expect.any(Number) });
    expect(refused.body.deliveryId).toBeUndefined();
    expect(await total(t)).toBe(60);
    const line = t.logs.lines().find((l) => l.code === 'rate_limited');
    expect(line).toMatchObject({ level: 40, status: 429, source: 'open' });
  });

  it('a token source (a public form) is limited by default too, wrong tokens included', async () => {
    const t = buildApp({ files: { 'form.yaml': FORM } });
    const codes = await statuses(61, () => post(t, '/hooks/form?token=wrong'));
    expect(codes.slice(0, 60)).toEqual(Array(60).fill(401));
    expect(codes[60]).toBe(429);
  });

  it('a configured limit applies to a signed source, counted before the signature is checked', async () => {
    const t = buildApp({ files: { 'gh.yaml': SIGNED } });
    const body = '{"n":1}';
    const signed = () =>
      request(t.app)
        .post('/hooks/gh')
        .type('json')
        .set('X-Hub-Signature-256', githubSignature('gh-secret', body))
        .send(body);
    expect(await statuses(3, signed)).toEqual([200, 200, 429]);
  });

  it('rateLimit: off lifts the default', async () => {
    const t = buildApp({ files: { 'open.yaml': UNLIMITED } });
    expect(new Set(await statuses(70, () => post(t, '/hooks/open')))).toEqual(new Set([200]));
  });

  it('counted per source and per client address (X-Forwarded-For only behind a trusted proxy)', async () => {
    const limited = OPEN.replace('routes:', 'rateLimit: { requests: 1, per: 1h }\nroutes:');
    const files = { 'a.yaml': limited, 'b.yaml': limited };
    const trusted = buildApp({ files, config: { trustProxy: 'loopback' } });
    expect((await post(trusted, '/hooks/a', '203.0.113.1')).status).toBe(200);
    expect((await post(trusted, '/hooks/a', '203.0.113.1')).status).toBe(429);
    expect((await post(trusted, '/hooks/b', '203.0.113.1')).status).toBe(200);
    expect((await post(trusted, '/hooks/a', '203.0.113.2')).status).toBe(200);
    // IPv6: one /64 is one client.
    expect((await post(trusted, '/hooks/a', '2001:db8:1:2::1')).status).toBe(200);
    expect((await post(trusted, '/hooks/a', '2001:db8:1:2:ffff::9')).status).toBe(429);
    expect((await post(trusted, '/hooks/a', '2001:db8:1:3::1')).status).toBe(200);
    // Without TRUST_PROXY the header is the sender's word: ignored, all one address.
    const direct = buildApp({ files });
    expect((await post(direct, '/hooks/a', '203.0.113.1')).status).toBe(200);
    expect((await post(direct, '/hooks/a', '203.0.113.2')).status).toBe(429);
  });

  it.each([
    ['requests: 0', 'rateLimit: { requests: 0, per: 1m }'],
    ['a window without a unit', 'rateLimit: { requests: 5, per: 60 }'],
    ['on', 'rateLimit: on'],
  ])('a bad rateLimit (%s) is a load error', (_label, line) => {
    const set = loadMappings(
      mappingsDir({ 'x.yaml': OPEN.replace('routes:', `${line}\nroutes:`) }),
      {},
    );
    expect(set.sources.has('x')).toBe(false);
    expect(set.errors[0]?.message).toMatch(/rateLimit/);
  });
});
