import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ConfigError, loadConfig } from '../../src/config';
import { postLateAnswer } from '../../src/responses/post-late-answer';
import { responseUrlAllowed } from '../../src/responses/response-url-allowed';
import { refusingUrl } from '../support/fake-flow-api';

// Issue 16: late answers through Slack's response_url, only to allowed origins.
describe('RESPONSE_URL_ALLOW', () => {
  it.each([
    [undefined, ['https://hooks.slack.com']],
    ['hooks.slack.com', ['https://hooks.slack.com']],
    [
      'Hooks.Slack.com, http://127.0.0.1:8080',
      ['https://hooks.slack.com', 'http://127.0.0.1:8080'],
    ],
    ['https://example.com:8443/', ['https://example.com:8443']],
  ])('%s → %j', (raw, origins) => {
    const env = raw === undefined ? {} : { RESPONSE_URL_ALLOW: raw };
    expect(loadConfig(env).responseUrlAllow).toEqual(origins);
  });

  it.each([
    'ftp://x.example',
    'https://u:p@x.example',
    'x.example/path',
    'https://x.example/p',
    'a b',
  ])('%s stops the start naming the variable', (raw) => {
    expect(() => loadConfig({ RESPONSE_URL_ALLOW: raw })).toThrow(ConfigError);
    expect(() => loadConfig({ RESPONSE_URL_ALLOW: raw })).toThrow(/^RESPONSE_URL_ALLOW: /);
  });
});

describe('responseUrlAllowed', () => {
  const allow = ['https://hooks.slack.com', 'http://127.0.0.1:8080'];
  it.each([
    ['https://hooks.slack.com/commands/T1/2/abc', true, ''],
    ['http://127.0.0.1:8080/x', true, ''],
    [
      'http://hooks.slack.com/commands/T1',
      false,
      'http://hooks.slack.com is not on RESPONSE_URL_ALLOW',
    ],
    ['https://hooks.slack.com.evil.example/x', false, 'is not on RESPONSE_URL_ALLOW'],
    ['http://127.0.0.1:8081/x', false, 'is not on RESPONSE_URL_ALLOW'],
    ['https://user:pw@hooks.slack.com/x', false, 'carries credentials'],
    ['not a url', false, 'not a URL'],
    [undefined, false, 'has no response_url'],
  ])('%s → %s', (url, ok, reason) => {
    const verdict = responseUrlAllowed(url, allow);
    expect(verdict.ok).toBe(ok);
    if (!verdict.ok) expect(verdict.reason).toContain(reason);
  });
});

describe('postLateAnswer', () => {
  let server: http.Server;
  let statuses: number[];
  const received: { body: string; type: string | undefined }[] = [];
  const answer = {
    status: 200,
    contentType: 'application/json; charset=utf-8',
    headers: {},
    body: '{"text":"done"}',
  };

  beforeEach(async () => {
    received.length = 0;
    server = http.createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        received.push({ body, type: req.headers['content-type'] });
        const status = statuses.shift() ?? 200;
        if (status === 302) res.writeHead(302, { Location: 'http://10.0.0.1/' }).end();
        else res.writeHead(status).end('ok');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = () => new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/late`);

  it('POSTs the rendered body with its content type', async () => {
    statuses = [200];
    await expect(postLateAnswer(url(), answer)).resolves.toEqual({
      sent: true,
      attempts: 1,
      httpStatus: 200,
    });
    expect(received).toEqual([
      { body: '{"text":"done"}', type: 'application/json; charset=utf-8' },
    ]);
  });

  it('a 5xx or 429 is retried; success on the third try', async () => {
    statuses = [503, 429, 200];
    const posted = await postLateAnswer(url(), answer, { firstDelayMs: 1 });
    expect(posted).toEqual({ sent: true, attempts: 3, httpStatus: 200 });
  });

  it.each([
    [404, 'the receiver answered 404'],
    [302, 'the receiver answered 302'],
  ])('a %s is final: not retried, not followed', async (status, reason) => {
    statuses = [status];
    const posted = await postLateAnswer(url(), answer, { firstDelayMs: 1 });
    expect(posted).toEqual({ sent: false, attempts: 1, httpStatus: status, reason });
    expect(received).toHaveLength(1);
  });

  it('a receiver that cannot be reached: tried every time, then given up', async () => {
    const posted = await postLateAnswer(new URL(`${await refusingUrl()}/x`), answer, {
      attempts: 2,
      firstDelayMs: 1,
    });
    expect(posted).toEqual({
      sent: false,
      attempts: 2,
      reason: 'the receiver could not be reached (ECONNREFUSED)',
    });
  });
});
