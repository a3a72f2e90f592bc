import request from 'supertest';
import { loadMappings } from '../../src/mappings/load-mappings';
import { buildApp, mappingsDir, type TestApp } from '../support/harness';

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
