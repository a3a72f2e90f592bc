import request from 'supertest';
import { loadMappings } from '../../src/mappings/load-mappings';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, githubSignature, mappingsDir, TOKEN, type TestApp } from '../support/harness';

// Regression tests of issue 9 (hardening), one describe per item; each fails on main at eb03f2e.

describe('issue 9 item 1: matches runs in linear time (RE2), whatever the pattern', () => {
  const FILES = {
    'redos.yaml': `
verify: { provider: none }
routes:
  - name: body
    when: [{ path: $.text, matches: '^(a+)+$' }]
    flow: body-flow
  - name: header
    when: [{ header: X-Text, matches: '^(a+)+$' }]
    flow: header-flow
  - name: query
    when: [{ query: text, matches: '^(a+)+$' }]
    flow: query-flow
`,
  };
  // 32 a's and a b: a backtracking engine takes about 20 s on it and holds every other request.
  const EVIL = `${'a'.repeat(32)}b`;
  let t: TestApp;
  beforeAll(() => {
    t = buildApp({ files: FILES });
  });

  it.each([
    ['a body path', (r: request.Test) => r.send({ text: EVIL })],
    ['a header', (r: request.Test) => r.set('X-Text', EVIL).send({})],
    ['a query value', (r: request.Test) => r.query({ text: EVIL }).send({})],
  ])('%s: the 44-byte ReDoS case is answered, and the next request too', async (_what, send) => {
    const res = await send(request(t.app).post('/hooks/redos'));
    expect(res.status).toBe(202);
    expect(res.body.status).toBe('ignored');
    expect((await request(t.app).get('/healthz')).status).toBe(200);
  });

  it.each([
    ['a body path', (r: request.Test) => r.send({ text: 'aaaa' }), 'body-flow'],
    ['a header', (r: request.Test) => r.set('X-Text', 'aaaa').send({}), 'header-flow'],
    ['a query value', (r: request.Test) => r.query({ text: 'aaaa' }).send({}), 'query-flow'],
  ])('%s: a matching text still matches', async (_what, send, flowId) => {
    const res = await send(request(t.app).post('/hooks/redos'));
    expect(res.status).toBe(200);
    expect(res.body.flowId).toBe(flowId);
  });

  it('a text longer than the cap (64 Ki characters) never matches', async () => {
    const res = await request(t.app)
      .post('/hooks/redos')
      .send({ text: 'a'.repeat(65_537) });
    expect(res.body.status).toBe('ignored');
  });

  it.each([
    ['a backreference', String.raw`^(a)\1$`, /invalid escape sequence: \\1.*no backreferences/],
    ['a lookahead', '^(?=a)a$', /invalid perl operator: \(\?=.*no lookaround/],
    ['a lookbehind', '(?<!a)b', /invalid perl operator: \(\?<!.*no lookaround/],
  ])('%s cannot run on RE2: a load error with file, line and column', (_what, pattern, why) => {
    const text = `verify: { provider: none }\nroutes:\n  - name: r\n    flow: f\n    when: [{ path: $.a, matches: '${pattern}' }]\n`;
    const set = loadMappings(mappingsDir({ 'bad.yaml': text }), {});
    expect(set.sources.has('bad')).toBe(false);
    const [problem] = set.errors;
    expect(problem).toMatchObject({ file: 'bad.yaml', line: 5, column: 34 });
    expect(problem.message).toMatch(
      /^line 5, column 34: routes\[0\]\.when\[0\]\.matches: invalid regular expression/,
    );
    expect(problem.message).toMatch(why);
  });
});

describe('issue 9 item 2: repeated form fields parse in linear time', () => {
  it('1 MiB of a=1& through a form source: one list of 262,144 values', async () => {
    const t = buildApp({
      files: {
        'form.yaml': `
verify: { provider: none }
routes:
  - name: r
    flow: f
    variables: { count: $.a }
`,
      },
      bodyLimit: 2 * 1024 * 1024,
    });
    const body = 'a=1&'.repeat(262_144);
    const res = await request(t.app)
      .post('/hooks/form')
      .type('form')
      .serialize((data: string) => data)
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body.request.body.count).toHaveLength(262_144);
  });
});

describe('issue 9 item 9: a whitespace-only secret is refused at load', () => {
  it.each([
    ['secret', `verify: { provider: github, secret: '   ' }`, 'verify.secret', 1, 37],
    [
      'secrets[1]',
      `verify: { provider: github, secrets: [good-one, ' '] }`,
      'verify.secrets[1]',
      1,
      49,
    ],
  ])('%s of spaces', (_what, verify, keyPath, line, column) => {
    const text = `${verify}\nroutes: [{ name: r, flow: f }]\n`;
    const set = loadMappings(mappingsDir({ 'blank.yaml': text }), {});
    expect(set.sources.has('blank')).toBe(false);
    expect(set.errors[0]).toMatchObject({ file: 'blank.yaml', line, column });
    expect(set.errors[0].message).toContain(`${keyPath}: the secret is empty (only whitespace)`);
  });
});

describe('issue 9 item 10: a path that does not percent-decode is 400 invalid_path', () => {
  let t: TestApp;
  beforeAll(() => {
    t = buildApp({
      files: { 'ok.yaml': 'verify: { provider: none }\nroutes: [{ name: r, flow: f }]\n' },
    });
  });

  it.each(['/hooks/%ff', '/hooks/%', '/hooks/%zz', '/hooks/a%e2%82'])('POST %s', async (path) => {
    const res = await request(t.app).post(path).send({});
    expect(res.status).toBe(400);
    expect(res.body).toEqual({
      error: 'the path is not valid percent-encoded UTF-8',
      code: 'invalid_path',
    });
    const line = t.logs.lines().at(-1);
    expect(line).toMatchObject({ status: 400, code: 'invalid_path' });
  });
});

describe('issue 9 item 3: what one payload can make a mapping extract is bounded', () => {
  const FILES = {
    'amp.yaml': `
verify: { provider: none }
routes:
  - name: r
    flow: f
    variables:
      everything: { path: '$..*', all: true }
`,
    'cond.yaml': `
verify: { provider: none }
routes:
  - name: r
    when: [{ path: '$..*', equals: needle }]
    flow: f
`,
  };
  let t: TestApp;
  beforeAll(() => {
    t = buildApp({ files: FILES, bodyLimit: 4 * 1024 * 1024 });
  });

  it('$..* with all: true over 20,000 nodes → 422 variables_too_large naming the variable', async () => {
    const body = { list: Array.from({ length: 20_000 }, (_, i) => i) };
    const res = await request(t.app).post('/hooks/amp').send(body);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({
      code: 'variables_too_large',
      variables: ['everything'],
      error: 'variable everything matches more than 10000 values in this request',
    });
    expect(await t.store.get(res.body.deliveryId)).toMatchObject({ state: 'failed' });
  });

  it('the same path over a small payload still extracts every match', async () => {
    const res = await request(t.app)
      .post('/hooks/amp')
      .send({ a: { b: 1 } });
    expect(res.status).toBe(200);
    expect(res.body.request.body.everything).toEqual([{ b: 1 }, 1]);
  });

  it('an execute body over EXECUTE_BODY_LIMIT → 422 variables_too_large naming the largest variables', async () => {
    const small = buildApp({
      files: {
        'big.yaml': `
verify: { provider: none }
routes:
  - name: r
    flow: f
    variables: { a: $.a, b: $.b, c: $.c }
`,
      },
      config: { executeBodyLimit: 1000 },
    });
    const res = await request(small.app)
      .post('/hooks/big')
      .send({ a: 'x'.repeat(900), b: 'y'.repeat(300), c: 1 });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'variables_too_large', variables: ['a', 'b'] });
    expect(res.body.error).toContain('EXECUTE_BODY_LIMIT (1000 bytes)');
    const fits = await request(small.app)
      .post('/hooks/big')
      .send({ a: 'x'.repeat(900), c: 1 });
    expect(fits.status).toBe(200);
  });

  it('$..* with all: true over a nested payload: refused before anything is built or stored', async () => {
    const nest = (depth: number): object | string =>
      depth === 0 ? 'leaf' : { a: nest(depth - 1), b: nest(depth - 1) };
    // 2^13 leaves, 16,382 nodes: every subtree is a match, and the execute body would be about
    // 13 times the payload (the issue's 900 KB payload gave 54.9 MB).
    const res = await request(t.app)
      .post('/hooks/amp')
      .send(nest(13) as object);
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'variables_too_large', variables: ['everything'] });
  });

  it('a condition decides on the first 10,000 matches, without walking the rest', async () => {
    const early = { list: ['needle', ...Array.from({ length: 20_000 }, (_, i) => i)] };
    expect((await request(t.app).post('/hooks/cond').send(early)).status).toBe(200);
    const late = { list: [...Array.from({ length: 20_000 }, (_, i) => i), 'needle'] };
    const res = await request(t.app).post('/hooks/cond').send(late);
    expect(res.body.status).toBe('ignored');
  });
});

describe('issue 9 item 6: secrets are redacted from stored requests by name and by value', () => {
  const GH = 'github-secret-of-another-source';
  const FILES = {
    'open.yaml': `
verify: { provider: none }
routes:
  - name: r
    flow: f
    variables:
      echoed: { header: X-Innocent }
      fromQuery: { query: note }
`,
    'github.yaml': `
verify: { provider: github, secret: "\${GH}" }
routes: [{ name: r, flow: f }]
`,
    'waiting.yaml': `
verify: { provider: github, secret: "\${WAITING_SECRET}" }
routes: [{ name: r, flow: "\${NOT_SET_FLOW}" }]
`,
  };
  let api: FakeFlowApi;
  let t: TestApp;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({
      files: FILES,
      env: { GH, WAITING_SECRET: 'secret-of-a-disabled-source' },
      flowBaseUrl: api.url,
    });
  });
  afterAll(() => api.stop());

  it('by name: key, sig, pwd, code in the query; x-passwd, x-credential, x-private-key', async () => {
    const res = await request(t.app)
      .post('/hooks/open?key=k1&sig=s1&pwd=p1&code=c1&page=2')
      .set('X-Passwd', 'hunter2')
      .set('X-Credential', 'cred-1')
      .set('X-Private-Key', 'pk-1')
      .set('X-Request-Id', 'kept')
      .send({});
    expect(res.status).toBe(200);
    const stored = await t.store.get(res.body.deliveryId);
    expect(stored?.request.url).toBe(
      '/hooks/open?key=%5Bredacted%5D&sig=%5Bredacted%5D&pwd=%5Bredacted%5D&code=%5Bredacted%5D&page=2',
    );
    expect(stored?.request.headers).toMatchObject({
      'x-passwd': '[redacted]',
      'x-credential': '[redacted]',
      'x-private-key': '[redacted]',
      'x-request-id': 'kept',
    });
  });

  it.each([
    ["another source's secret", GH],
    ["a disabled source's secret", 'secret-of-a-disabled-source'],
    ['the flow token', TOKEN],
    ['the flow token upper-cased', TOKEN.toUpperCase()],
    ['the flow token in base64', Buffer.from(`user:${TOKEN}`).toString('base64')],
    ['the flow token URL-encoded', encodeURIComponent(`${TOKEN}/x`)],
  ])('by value: %s under an innocent name, in a header and the query', async (_what, value) => {
    const res = await request(t.app)
      .post(`/hooks/open?note=${encodeURIComponent(value)}`)
      .set('X-Innocent', value)
      .send({});
    expect(res.status).toBe(200);
    const stored = await t.store.get(res.body.deliveryId);
    const text = JSON.stringify({ request: stored?.request, answer: stored?.answer });
    expect(text).not.toContain(value);
    expect(text.toLowerCase()).not.toContain(TOKEN);
    expect(stored?.request.headers['x-innocent']).toBe('[redacted]');
    expect(stored?.request.url).toMatch(/^\/hooks\/open\?note=\S*\[redacted\]/);
  });

  it('by value in an answer: a dry-run answer never shows a secret it extracted', async () => {
    const dry = buildApp({ files: FILES, env: { GH }, config: { flowApiToken: TOKEN } });
    const res = await request(dry.app).post('/hooks/open').set('X-Innocent', GH).send({});
    expect(res.status).toBe(200);
    expect(res.text).not.toContain(GH);
    expect(res.body.request.body.echoed).toBe('[redacted]');
    const stored = await dry.store.get(res.body.deliveryId);
    expect(JSON.stringify(stored?.answer)).not.toContain(GH);
  });

  it('a signed source still verifies and stores its own secret nowhere', async () => {
    const body = '{"ref":"main"}';
    const res = await request(t.app)
      .post('/hooks/github')
      .set('Content-Type', 'application/json')
      .set('X-Hub-Signature-256', githubSignature(GH, body))
      .set('X-Echo', GH)
      .send(body);
    expect(res.status).toBe(200);
    const stored = await t.store.get(res.body.deliveryId);
    expect(JSON.stringify(stored)).not.toContain(GH);
  });
});

describe('issue 9 item 7: the flow token in upstream errors, in every form', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({
      files: {
        'open.yaml': 'verify: { provider: none }\nroutes: [{ name: r, flow: f }]\n',
      },
      flowBaseUrl: api.url,
    });
  });
  afterAll(() => api.stop());

  it.each([
    ['lower-cased', (tok: string) => `bad token ${tok.toLowerCase()}`],
    ['upper-cased', (tok: string) => `BAD TOKEN ${tok.toUpperCase()}`],
    ['base64', (tok: string) => `got ${Buffer.from(`Bearer ${tok}`).toString('base64')}`],
    ['URL-encoded', (tok: string) => `got ?t=${encodeURIComponent(`${tok}&`)}`],
  ])('%s: not in the answer, not in the store', async (_what, echo) => {
    api.answer(401, { error: echo(TOKEN) });
    const res = await request(t.app).post('/hooks/open').send({});
    expect(res.status).toBe(502);
    expect(res.body.upstream.error).toContain('[redacted]');
    const stored = await t.store.get(res.body.deliveryId);
    for (const text of [res.text, JSON.stringify(stored)]) {
      expect(text.toLowerCase()).not.toContain(TOKEN);
      expect(text).not.toContain(Buffer.from(TOKEN).toString('base64').slice(2, 20));
    }
  });

  it('a long upstream text is cut to 500 characters, after the token is redacted', async () => {
    api.answer(400, { error: `${'x'.repeat(495)}${TOKEN}${'y'.repeat(10_000)}` });
    const res = await request(t.app).post('/hooks/open').send({});
    expect(res.body.upstream.error).toBe(`${'x'.repeat(495)}[reda`);
    expect(res.body.upstream.error).toHaveLength(500);
  });
});

describe('issue 9 item 8: a disabled source says only that it is unavailable', () => {
  it.each([
    [
      'waiting for a variable',
      'verify: { provider: github, secret: "${EMPTY_UNSET_VAR}" }\nroutes: [{ name: r, flow: f }]\n',
      'EMPTY_UNSET_VAR',
    ],
    [
      'a mapping error',
      "verify: { provider: none }\nroutes: [{ name: r, flow: f, when: [{ path: $.a, matches: '(' }] }]\n",
      'line 2, column',
    ],
  ])('%s: 503 without the reason; the reason in the log line', async (_what, text, reason) => {
    const t = buildApp({ files: { 'off.yaml': text } });
    const res = await request(t.app).post('/hooks/off').send({});
    expect(res.status).toBe(503);
    expect(res.body).toEqual({ error: 'source "off" is unavailable', code: 'source_disabled' });
    expect(res.text).not.toContain(reason);
    expect(String(t.logs.lines().at(-1)?.disabled)).toContain(reason);
  });
});
