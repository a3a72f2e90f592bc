import { gzipSync } from 'node:zlib';
import request from 'supertest';
import { FakeFlowApi } from '../support/fake-flow-api';
import { buildApp, fixture, githubSignature, type TestApp } from '../support/harness';

const SECRET = 'bad-input-secret';
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

function signed(t: TestApp, body: string | Buffer, contentType = 'application/json') {
  return request(t.app)
    .post('/hooks/github')
    .set('Content-Type', contentType)
    .set('X-Hub-Signature-256', githubSignature(SECRET, body))
    .serialize((data: unknown) => data as string) // the bytes as given, never re-serialized
    .send(body);
}

/** A signed request with no Content-Type at all (supertest would add one for a string body). */
function typeless(t: TestApp, body: string) {
  return request(t.app)
    .post('/hooks/github')
    .set('X-Hub-Signature-256', githubSignature(SECRET, body))
    .serialize((data: string) => data)
    .send(Buffer.from(body));
}

const deep = (levels: number) => '['.repeat(levels) + ']'.repeat(levels);

describe('bad input: each gets its 4xx, and the next good request still works', () => {
  let api: FakeFlowApi;
  let t: TestApp;
  beforeAll(async () => {
    api = await new FakeFlowApi().start();
    t = buildApp({ files: FILES, env: { SECRET }, flowBaseUrl: api.url, bodyLimit: 64 * 1024 });
  });
  afterAll(() => api.stop());

  it.each([
    ['malformed JSON', 400, 'invalid_body', () => signed(t, '{"ref": "main",')],
    ['JSON that is only whitespace', 400, 'invalid_body', () => signed(t, '   ')],
    [
      'a wrong content type',
      415,
      'unsupported_media_type',
      () => signed(t, 'ref=main', 'text/plain'),
    ],
    ['no content type', 415, 'unsupported_media_type', () => typeless(t, '{}')],
    [
      'a non-UTF-8 charset',
      415,
      'unsupported_media_type',
      () => signed(t, '{}', 'application/json; charset=latin1'),
    ],
    [
      'an oversized body',
      413,
      'body_too_large',
      () => signed(t, JSON.stringify({ pad: 'x'.repeat(70 * 1024) })),
    ],
    [
      'invalid UTF-8',
      400,
      'invalid_body',
      () => signed(t, Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    ],
    [
      'a gzip-compressed body',
      415,
      'unsupported_media_type',
      () => signed(t, gzipSync('{"ref":"x"}')).set('Content-Encoding', 'gzip'),
    ],
    ['an empty body', 400, 'invalid_body', () => signed(t, '')],
    ['a deeply nested body', 400, 'invalid_body', () => signed(t, deep(5000))],
    [
      'a __proto__ key',
      400,
      'invalid_body',
      () => signed(t, '{"ref":"x","__proto__":{"polluted":true}}'),
    ],
    [
      'a constructor.prototype key',
      400,
      'invalid_body',
      () => signed(t, '{"constructor":{"prototype":{"polluted":true}}}'),
    ],
    [
      'a __proto__ form field',
      400,
      'invalid_body',
      () => signed(t, '__proto__=1&ref=x', 'application/x-www-form-urlencoded'),
    ],
    [
      'a form payload field with bad JSON',
      400,
      'invalid_body',
      () => signed(t, 'payload=%7B%22a%22', 'application/x-www-form-urlencoded'),
    ],
  ])('%s → %i %s', async (_name, status, code, send) => {
    const res = await send();
    expect(res.status).toBe(status);
    expect(res.body.code).toBe(code);
    expect(res.body.error).toEqual(expect.any(String));
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();

    api.reset();
    const good = await signed(t, '{"ref":"refs/heads/main"}');
    expect(good.status).toBe(200);
    expect(api.requests.map((r) => r.body)).toEqual([{ ref: 'refs/heads/main' }]);
  });

  it('a body nested 64 levels is accepted; 65 is refused', async () => {
    expect((await signed(t, deep(64))).status).toBe(200);
    expect((await signed(t, deep(65))).status).toBe(400);
  });

  it('a JSON body with a charset=utf-8 parameter and a +json type is accepted', async () => {
    expect((await signed(t, '{"ref":"a"}', 'application/json; charset=UTF-8')).status).toBe(200);
    expect((await signed(t, '{"ref":"a"}', 'application/vnd.github+json')).status).toBe(200);
  });

  it('an unsigned oversized body is refused with 413 before anything else is read', async () => {
    const res = await request(t.app)
      .post('/hooks/github')
      .set('Content-Type', 'application/json')
      .send('x'.repeat(100 * 1024));
    expect(res.status).toBe(413);
  });
});

describe('form bodies', () => {
  it('a Slack slash command (form) is parsed to fields', async () => {
    const body = fixture('slack', 'slash-command.txt');
    const files = {
      'form.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
routes:
  - name: r
    when: [{ path: $.command, equals: /deploy }]
    flow: f
    variables: { text: $.text, user: $.user_name, url: $.response_url }
`,
    };
    const t = buildApp({ files });
    const res = await request(t.app)
      .post('/hooks/form')
      .set('X-Token', 'tok')
      .set('Content-Type', 'application/x-www-form-urlencoded')
      .send(body);
    expect(res.status).toBe(200);
    expect(res.body.request.body).toEqual({
      text: 'api to staging',
      user: 'roadrunner',
      url: 'https://hooks.slack.com/commands/T1DC2JH3J/397700885554/96rGlfmibIGlgcZRskXaIFfN',
    });
  });

  it('a form field "payload" holding JSON (Slack interactivity) is parsed', async () => {
    const files = {
      'form.yaml': `
verify: { provider: token, header: X-Token, secret: tok }
routes: [{ name: r, flow: f, variables: { action: '$.payload.actions[0].value', user: $.payload.user.id } }]
`,
    };
    const t = buildApp({ files });
    const payload = JSON.stringify({
      type: 'block_actions',
      user: { id: 'U1' },
      actions: [{ value: 'approve' }],
    });
    const res = await request(t.app)
      .post('/hooks/form')
      .set('X-Token', 'tok')
      .type('form')
      .send(`payload=${encodeURIComponent(payload)}`);
    expect(res.status).toBe(200);
    expect(res.body.request.body).toEqual({ action: 'approve', user: 'U1' });
  });
});
