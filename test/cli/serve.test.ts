import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { FakeFlowApi } from '../support/fake-flow-api';
import { fixture, githubSignature, tempFolder } from '../support/harness';
import { until } from '../support/until';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'flowhook.js');

interface Started {
  child: ChildProcess;
  port: number;
  lines: () => Record<string, unknown>[];
  exited: Promise<number | null>;
}

/**
 * Runs `flowhook serve` as a child with exactly `env` (plus PATH), waits for "listening".
 * `through`: a script run with node that starts serve itself (a stand-in for npm start).
 */
function serve(
  env: Record<string, string>,
  options: { cwd?: string; through?: string } = {},
): Promise<Started> {
  const args = options.through === undefined ? [BIN, 'serve'] : ['-e', options.through];
  const child = spawn(process.execPath, args, {
    cwd: options.cwd ?? ROOT,
    env: {
      PATH: process.env.PATH ?? '',
      HOST: '127.0.0.1',
      PORT: '0',
      // A store of its own: deliveries (and idempotency keys) of other runs are not this one's.
      DATA_DIR: tempFolder('flowhook-serve-'),
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (chunk) => (out += chunk));
  const lines = () =>
    out
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no "listening" line; stdout: ${out}`)),
      15_000,
    );
    child.stdout?.on('data', () => {
      const listening = lines().find(
        (l) => typeof l.port === 'number' && String(l.msg).startsWith('listening'),
      );
      if (listening) {
        clearTimeout(timer);
        resolve({ child, port: listening.port as number, lines, exited });
      }
    });
    void exited.then(() => reject(new Error(`exited early; stdout: ${out}`)));
  });
}

/** Runs `flowhook …` to its end; returns exit code and output. */
function run(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

const TOKEN = 'cli-test-token';
const SECRET = 'cli-secret';

/** The environment of a live (not dry-run) start with the GitHub example enabled. */
function liveEnv(api: FakeFlowApi): Record<string, string> {
  return {
    FLOW_BASE_URL: api.url,
    FLOW_ORG_ID: 'acme',
    FLOW_API_TOKEN: TOKEN,
    GITHUB_WEBHOOK_SECRET: SECRET,
    GITHUB_DEPLOY_FLOW_ID: 'deploy',
    GITHUB_TRIAGE_FLOW_ID: 'triage',
  };
}

/** A signed GitHub push to main, as GitHub sends it. */
function postPush(port: number): Promise<Response> {
  const body = fixture('github', 'push.json');
  return fetch(`http://127.0.0.1:${port}/hooks/github`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'x-github-event': 'push',
      'x-github-delivery': randomUUID(),
      'x-hub-signature-256': githubSignature(SECRET, body),
    },
    body,
  });
}

describe('flowhook serve (the built CLI, as npm start runs it)', () => {
  beforeAll(() => {
    // A fresh clone has no dist/: build it the way `npm start` does.
    execFileSync(process.execPath, [path.join(ROOT, 'scripts', 'build-if-needed.js')], {
      cwd: ROOT,
      stdio: 'inherit',
    });
  }, 120_000);

  it('starts on embedded defaults: dry-run said first, one warning per source naming its variables', async () => {
    const s = await serve({});
    try {
      const health = await fetch(`http://127.0.0.1:${s.port}/healthz`);
      expect(health.status).toBe(200);
      const lines = s.lines();
      expect(lines[0].msg).toBe('flowhook starting');
      expect(String(lines[1].msg)).toMatch(/^dry-run mode: FLOW_BASE_URL is not set/);
      const warnings = lines.filter((l) => l.level === 40 && typeof l.source === 'string');
      expect(warnings.map((w) => w.source).sort()).toEqual([
        'contact-form',
        'github',
        'slack',
        'stripe',
        'typeform',
      ]);
      expect(warnings.find((w) => w.source === 'github')?.msg).toContain('GITHUB_WEBHOOK_SECRET');
      expect(lines.filter((l) => (l.level as number) >= 50)).toEqual([]);
      const ready = (await (await fetch(`http://127.0.0.1:${s.port}/readyz`)).json()) as Record<
        string,
        unknown
      >;
      expect(ready).toMatchObject({ status: 'ready', dryRun: true, sources: [], errors: [] });
    } finally {
      s.child.kill('SIGTERM');
    }
    expect(await s.exited).toBe(0);
  });

  it('with FLOW_BASE_URL set, a signed GitHub push runs the flow and answers its sessionId', async () => {
    const api = await new FakeFlowApi().start();
    const s = await serve(liveEnv(api));
    try {
      const res = await postPush(s.port);
      const answer = await res.json();
      expect({ status: res.status, answer }).toMatchObject({ status: 200 });
      expect(answer).toMatchObject({
        source: 'github',
        route: 'push-to-main',
        sessionId: 'session-1',
      });
      expect(api.requests[0]).toMatchObject({
        method: 'POST',
        path: '/cgw/process/v1/orgs/acme/flows/deploy/execute',
        headers: expect.objectContaining({ authorization: `Bearer ${TOKEN}` }),
      });
      const logged = JSON.stringify(s.lines());
      expect(logged).not.toContain(TOKEN);
      expect(logged).not.toContain(SECRET);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
      await api.stop();
    }
  });

  it('SIGTERM lets an in-flight request finish, then exits 0', async () => {
    const api = await new FakeFlowApi().start();
    api.answerAfter(800);
    const s = await serve(liveEnv(api));
    try {
      const pending = postPush(s.port);
      await until(() => api.requests.length > 0, 10_000, 'the request to reach the flow API');
      s.child.kill('SIGTERM');
      const res = await pending;
      expect(res.status).toBe(200);
      expect(await s.exited).toBe(0);
      expect(s.lines().map((l) => l.msg)).toEqual(
        expect.arrayContaining([expect.stringMatching(/^stopping/), 'stopped']),
      );
    } finally {
      s.child.kill('SIGKILL');
      await api.stop();
    }
  });

  it('reads .env in the working directory, the environment winning over it, and says so (issue 10)', async () => {
    const cwd = tempFolder('flowhook-dotenv-');
    fs.writeFileSync(
      path.join(cwd, '.env'),
      [
        `MAPPINGS_DIR=${path.join(ROOT, 'mappings')}`,
        'GITHUB_WEBHOOK_SECRET=from-dotenv',
        'GITHUB_DEPLOY_FLOW_ID=deploy',
        'GITHUB_TRIAGE_FLOW_ID=triage',
        'PORT=99999 # would stop the start if it won over the environment',
        '',
      ].join('\n'),
    );
    const s = await serve({}, { cwd });
    try {
      const note = s.lines().find((l) => String(l.msg).includes('from .env'));
      expect(note).toMatchObject({
        msg: 'read 4 variable(s) from .env; the environment wins over it',
        loaded: [
          'GITHUB_DEPLOY_FLOW_ID',
          'GITHUB_TRIAGE_FLOW_ID',
          'GITHUB_WEBHOOK_SECRET',
          'MAPPINGS_DIR',
        ],
        environmentWins: ['PORT'],
      });
      expect(JSON.stringify(s.lines())).not.toContain('from-dotenv');
      const ready = (await (await fetch(`http://127.0.0.1:${s.port}/readyz`)).json()) as {
        sources: { name: string }[];
      };
      expect(ready.sources.map((source) => source.name)).toEqual(['github']);
    } finally {
      s.child.kill('SIGTERM');
      await s.exited;
      fs.rmSync(cwd, { recursive: true, force: true });
    }
  });

  it('under npm start, the server stops when npm is killed instead of running on orphaned (issue 10)', async () => {
    // A stand-in for npm: starts serve with npm's environment marker, and is killed outright.
    const npm = `const c = require('node:child_process').spawn(process.execPath, [${JSON.stringify(BIN)}, 'serve'], { stdio: 'inherit', env: { ...process.env, npm_lifecycle_event: 'start' } }); console.log(JSON.stringify({ serverPid: c.pid }));`;
    const s = await serve({}, { through: npm });
    const serverPid = s.lines().find((l) => typeof l.serverPid === 'number')?.serverPid as number;
    const alive = () => {
      try {
        process.kill(serverPid, 0);
        return true;
      } catch {
        return false;
      }
    };
    try {
      expect(alive()).toBe(true);
      s.child.kill('SIGKILL');
      await until(() => !alive(), 15_000, 'the server to stop after its npm parent died');
      expect(s.lines().map((l) => l.msg)).toEqual(expect.arrayContaining(['stopped']));
      expect(s.lines().find((l) => String(l.msg).startsWith('stopping'))).toMatchObject({
        signal: 'npm exited',
      });
    } finally {
      if (alive()) process.kill(serverPid, 'SIGKILL');
    }
  });

  it.each([
    [{ PORT: 'eighty' }, /^flowhook: cannot start: PORT: "eighty" is not a whole number/],
    [{ FLOW_BASE_URL: 'http://x' }, /^flowhook: cannot start: FLOW_ORG_ID: is required/],
    [
      { MAPPINGS_DIR: '/nonexistent/maps' },
      /^flowhook: cannot start: MAPPINGS_DIR: \/nonexistent\/maps does not exist/,
    ],
  ])('%j stops the start with exit 1 and one clear line', async (env, message) => {
    const result = await run(['serve'], env);
    expect(result.code).toBe(1);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr.trim()).toMatch(message);
  });

  it('--help lists serve', async () => {
    const result = await run(['--help'], {});
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/serve\s+Run the HTTP service/);
  });
});
