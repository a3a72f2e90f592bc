import fs from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { runCli } from '../../src/cli/main';
import { createVerifier } from '../../src/verify/create-verifier';
import type { VerifySpec } from '../../src/verify/types';
import { FakeFlowApi, refusingUrl } from '../support/fake-flow-api';
import { buildApp, mappingsDir, ORG } from '../support/harness';

const ROOT = path.join(__dirname, '..', '..');
const fixture = (...parts: string[]) => path.join(ROOT, 'test', 'fixtures', ...parts);
const PUSH = fixture('github', 'push.json');
const FORM = fixture('forms', 'contact.txt');
const SLASH = fixture('slack', 'slash-command.txt');

const GH_SECRET = 'gh-signing-secret-42';
const SECRETS = {
  GH_SECRET,
  STRIPE_SECRET: 'whsec_stripe_cli_test',
  TWILIO_TOKEN: 'twilio-auth-token',
  SLACK_SECRET: 'slack-signing-secret',
  FORM_TOKEN: 'form-token-1',
  MAILGUN_KEY: 'mailgun-signing-key',
};
// The flow ids are the server's business: the CLI's environment leaves them unset.
const SERVER_ENV = { ...SECRETS, GH_FLOW: 'deploy', FLOW_B: 'flow-b' };

const FILES = {
  'github.yaml': `verify: { provider: github, secret: '\${GH_SECRET}' }
routes:
  - name: push
    when: [{ header: X-GitHub-Event, equals: push }]
    flow: '\${GH_FLOW}'
    variables: { repository: $.repository.full_name, ref: $.ref }
`,
  'stripe.yaml': `verify: { provider: stripe, secrets: ['\${STRIPE_SECRET}', whsec_older] }
routes: [{ name: all, flow: '\${FLOW_B}', variables: { id: $.ref } }]
`,
  'twilio.yaml': `verify: { provider: twilio, secret: '\${TWILIO_TOKEN}' }
routes: [{ name: all, flow: '\${FLOW_B}', variables: { name: $.name } }]
`,
  'slack.yaml': `verify: { provider: slack, secret: '\${SLACK_SECRET}' }
routes: [{ name: all, flow: '\${FLOW_B}', variables: { command: $.command, text: $.text } }]
`,
  'form.yaml': `verify: { provider: token, query: token, secret: '\${FORM_TOKEN}' }
routes: [{ name: all, flow: '\${FLOW_B}', variables: { name: $.name, email: $.email } }]
`,
  'mailgun.yaml': `verify: { provider: mailgun, secret: '\${MAILGUN_KEY}' }
routes: [{ name: all, flow: '\${FLOW_B}' }]
`,
};
const DIR = mappingsDir(FILES);

/** Runs `flowhook …` in-process with only `env` as the environment. */
async function cli(args: string[], env: Record<string, string> = SECRETS) {
  let out = '';
  let err = '';
  const code = await runCli([...args, '--mappings', DIR], {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    cwd: ROOT,
  });
  return { code, out, err };
}

/** The request a receiver would get from `headers`, for the verifier of `spec`. */
function verifyHeaders(
  spec: VerifySpec,
  headers: Record<string, string>,
  body: Buffer,
  url: string,
) {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return createVerifier(spec)({
    rawBody: body,
    headers: lower,
    method: 'POST',
    url,
    query: {},
    now: Date.now(),
  });
}

/** `-H 'Name: value'` lines back into a header map. */
function headerLines(out: string): Record<string, string> {
  const lines = out.split('\n').filter((line) => line.startsWith('-H '));
  return Object.fromEntries(
    lines.map((line) => {
      const text = line.slice(4, -1);
      const colon = text.indexOf(': ');
      return [text.slice(0, colon), text.slice(colon + 2)];
    }),
  );
}

describe('flowhook sign', () => {
  it('prints -H lines and a curl command whose signature verifies; never the secret', async () => {
    const { code, out, err } = await cli(['sign', 'github', PUSH, '-H', 'X-GitHub-Event: push']);
    expect(err).toBe('');
    expect(code).toBe(0);
    const headers = headerLines(out);
    expect(Object.keys(headers)).toEqual([
      'Content-Type',
      'X-GitHub-Event',
      'X-Hub-Signature-256',
      'X-GitHub-Delivery',
    ]);
    expect(headers['Content-Type']).toBe('application/json');
    const body = fs.readFileSync(PUSH);
    const url = 'http://127.0.0.1:3000/hooks/github';
    const spec = { provider: 'github', secrets: [GH_SECRET] };
    expect(verifyHeaders(spec, headers, body, url)).toMatchObject({ ok: true, secretIndex: 0 });
    const wrong = { provider: 'github', secrets: ['another-secret'] };
    expect(verifyHeaders(wrong, headers, body, url)).toMatchObject({ ok: false });
    const curl = out.trimEnd().split('\n').at(-1);
    expect(curl).toBe(
      `curl -sS -X POST '${url}' ${Object.entries(headers)
        .map(([k, v]) => `-H '${k}: ${v}'`)
        .join(' ')} --data-binary '@${PUSH}'`,
    );
    expect(out).not.toContain(GH_SECRET);
  });

  it('--json: url, every header, the signed ones and the curl command', async () => {
    const { code, out } = await cli([
      'sign',
      'stripe',
      PUSH,
      '--json',
      '--url',
      'https://hooks.example.com/base/',
      '-q',
      'a=b c',
    ]);
    expect(code).toBe(0);
    const json = JSON.parse(out);
    expect(json).toMatchObject({
      source: 'stripe',
      provider: 'stripe',
      method: 'POST',
      url: 'https://hooks.example.com/base/hooks/stripe?a=b+c',
      signed: ['Stripe-Signature'],
      payloadFile: PUSH,
    });
    expect(Object.keys(json.headers)).toEqual(['Content-Type', 'Stripe-Signature']);
    expect(json.curl).toContain(`-H 'Stripe-Signature: ${json.headers['Stripe-Signature']}'`);
    const body = fs.readFileSync(PUSH);
    // The newest secret signs: the verifier says the first one matched.
    const spec = { provider: 'stripe', secrets: [SECRETS.STRIPE_SECRET, 'whsec_older'] };
    expect(verifyHeaders(spec, json.headers, body, json.url)).toMatchObject({
      ok: true,
      secretIndex: 0,
    });
  });

  it('a token in the query goes into the URL; a form body is guessed as a form', async () => {
    const { code, out } = await cli(['sign', 'form', FORM, '--url', 'http://localhost:8080']);
    expect(code).toBe(0);
    expect(out).toBe(
      `-H 'Content-Type: application/x-www-form-urlencoded'\n\n` +
        `curl -sS -X POST 'http://localhost:8080/hooks/form?token=form-token-1' -H 'Content-Type: application/x-www-form-urlencoded' --data-binary '@${FORM}'\n`,
    );
  });

  it('an unset secret: exit 2 naming the variable to set', async () => {
    const { code, out, err } = await cli(['sign', 'github', PUSH], {});
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toBe(
      'flowhook sign: source "github": its verify block (github.yaml) needs GH_SECRET: set it in this environment to the value the sender uses (the running flowhook\'s)\n',
    );
  });

  it('usage problems: exit 2 with one line', async () => {
    const unknown = await cli(['sign', 'nope', PUSH]);
    expect(unknown.code).toBe(2);
    expect(unknown.err).toBe(
      `flowhook sign: source "nope": no mapping file in ${DIR} defines it\n`,
    );
    const missing = await cli(['sign', 'github', 'no-such-file.json']);
    expect(missing).toMatchObject({
      code: 2,
      err: 'flowhook sign: cannot read no-such-file.json (ENOENT)\n',
    });
    const header = await cli(['sign', 'github', PUSH, '-H', 'no colon']);
    expect(header).toMatchObject({
      code: 2,
      err: 'flowhook sign: -H "no colon" is not "Name: value"\n',
    });
    const url = await cli(['sign', 'github', PUSH, '--url', 'ftp://example.com']);
    expect(url).toMatchObject({
      code: 2,
      err: 'flowhook sign: --url "ftp://example.com" is not an http:// or https:// URL\n',
    });
  });

  it('mailgun cannot be signed: exit 1 with the reason', async () => {
    const { code, out, err } = await cli(['sign', 'mailgun', PUSH]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(
      /^flowhook sign: source "mailgun": mailgun: the signature is not a header but part of the body/,
    );
    expect(err).not.toContain(SECRETS.MAILGUN_KEY);
  });

  it('--help explains the secret, the exit codes and gives an example', async () => {
    for (const command of ['sign', 'send']) {
      const { code, out } = await cli([command, '--help']);
      expect(code).toBe(0);
      expect(out).toContain(`Usage: flowhook ${command} [options] <source> <payload-file>`);
      expect(out).toContain('--url <base>');
      expect(out).toContain('set its secret');
      expect(out).toMatch(/Exit 0 /);
      expect(out).toContain(`flowhook ${command} github push.json`);
    }
  });
});

describe('flowhook send, against a running flowhook', () => {
  const flowApi = new FakeFlowApi();
  let server: Server;
  let url: string;

  beforeAll(async () => {
    await flowApi.start();
    const { app } = buildApp({ files: FILES, env: SERVER_ENV, flowBaseUrl: flowApi.url });
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await flowApi.stop();
  });
  beforeEach(() => flowApi.reset());

  it('signs and posts: exit 0, the answer printed, the flow executed', async () => {
    const { code, out, err } = await cli([
      'send',
      'github',
      PUSH,
      '-H',
      'X-GitHub-Event: push',
      '--url',
      url,
    ]);
    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toMatch(new RegExp(`^POST ${url}/hooks/github → 200 OK\n\\{\n`));
    expect(out).toContain('"sessionId": "session-1"');
    expect(flowApi.requests).toHaveLength(1);
    expect(flowApi.requests[0]).toMatchObject({
      method: 'POST',
      path: `/cgw/process/v1/orgs/${ORG}/flows/deploy/execute`,
      body: { repository: 'Codertocat/Hello-World', ref: 'refs/heads/main' },
    });
  });

  it.each([
    ['stripe (timestamped, newest of two secrets)', 'stripe', PUSH, []],
    ['twilio (signs the exact URL and the form fields)', 'twilio', FORM, ['-q', 'x=1']],
    ['slack (form body)', 'slack', SLASH, []],
    ['token in the query', 'form', FORM, []],
  ])('%s: accepted by the server', async (_label, source, file, extra) => {
    const { code, out } = await cli(['send', source, file, ...extra, '--url', url]);
    expect(out).toMatch(/→ 200 OK/);
    expect(code).toBe(0);
    expect(flowApi.requests).toHaveLength(1);
  });

  it('-H Content-Type is sent as given instead of the guess', async () => {
    const given = ['send', 'slack', SLASH, '--url', url, '-H'];
    const form = await cli([
      ...given,
      'Content-Type: application/x-www-form-urlencoded; charset=utf-8',
    ]);
    expect(form.code).toBe(0);
    expect(flowApi.requests[0]?.body).toMatchObject({ command: '/deploy', text: 'api to staging' });
    // Verified (the bytes are as signed), then refused for its media type: the header was sent.
    const text = await cli([...given, 'Content-Type: text/plain']);
    expect(text.code).toBe(1);
    expect(text.out).toContain('→ 415 Unsupported Media Type');
    expect(flowApi.requests).toHaveLength(1);
  });

  it('a wrong secret: the server answers 401, send exits 1 and prints the answer', async () => {
    const { code, out } = await cli(
      ['send', 'github', PUSH, '-H', 'X-GitHub-Event: push', '--url', url],
      {
        GH_SECRET: 'not-the-servers-secret',
      },
    );
    expect(code).toBe(1);
    expect(out).toContain(`POST ${url}/hooks/github → 401 Unauthorized`);
    expect(out).toContain('"code": "invalid_signature"');
    expect(flowApi.requests).toHaveLength(0);
  });

  it('an unset secret: exit 2 naming the variable, nothing sent', async () => {
    const { code, out, err } = await cli(['send', 'github', PUSH, '--url', url], {});
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(
      /^flowhook send: source "github": its verify block \(github\.yaml\) needs GH_SECRET/,
    );
    expect(flowApi.requests).toHaveLength(0);
  });

  it('a source that cannot be signed: exit 1, nothing sent', async () => {
    const { code } = await cli(['send', 'mailgun', PUSH, '--url', url]);
    expect(code).toBe(1);
    expect(flowApi.requests).toHaveLength(0);
  });

  it('nothing listening: exit 1 with one line', async () => {
    const nobody = await refusingUrl();
    const { code, out, err } = await cli(['send', 'github', PUSH, '--url', nobody]);
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toBe(
      `flowhook send: no answer from ${nobody} (ECONNREFUSED); is flowhook running there? (--url, or PORT)\n`,
    );
  });

  it('--url defaults to http://127.0.0.1:$PORT', async () => {
    const port = String((server.address() as AddressInfo).port);
    const { code } = await cli(['send', 'github', PUSH, '-H', 'X-GitHub-Event: push'], {
      ...SECRETS,
      PORT: port,
    });
    expect(code).toBe(0);
  });
});
