// What bench/run.ts and bench/instructions.ts share: the child processes they start (the fake
// flow API, the servers) and stop, the HTTP requests they make, and the servers' environment.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';

export const HOST = '127.0.0.1';
export const API_TOKEN = 'bench-token';

export const live = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

export function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function waitExit(child: ChildProcess, ms: number): Promise<boolean> {
  if (exited(child)) {
    return Promise.resolve(true);
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve(false);
    }, ms);
    function onExit(): void {
      clearTimeout(timer);
      resolve(true);
    }
    child.once('exit', onExit);
  });
}

/** SIGTERM, then SIGKILL after `graceMs`. Only ever signals the given child, by its pid. */
export async function stopChild(
  child: ChildProcess,
  graceMs: number,
): Promise<'exited' | 'killed'> {
  if (exited(child)) {
    return 'exited';
  }
  child.kill('SIGTERM');
  if (await waitExit(child, graceMs)) {
    return 'exited';
  }
  child.kill('SIGKILL');
  await waitExit(child, 2000);
  return 'killed';
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, HOST, () => {
      const address = srv.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface FakeApi {
  child: ChildProcess;
  port: number;
}

export function startFakeApi(): Promise<FakeApi> {
  const child = track(
    spawn(process.execPath, [path.join(__dirname, 'fake-flow-api.js'), '0'], {
      env: { ...process.env, FAKE_FLOW_TOKEN: API_TOKEN },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error('fake flow API did not print its port')), 10_000);
    function fail(err: Error): void {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    function onExit(code: number | null): void {
      fail(new Error(`fake flow API exited (code ${code})`));
    }
    child.once('exit', onExit);
    child.once('error', fail);
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (chunk: string) => {
      buffered += chunk;
      const match = /PORT=(\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve({ child, port: Number(match[1]) });
      }
    });
  });
}

export interface HttpAnswer {
  status: number;
  text: string;
}

export function request(
  method: string,
  port: number,
  urlPath: string,
  body?: Buffer,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
  /** A keep-alive agent for many requests; none (a connection per request) by default. */
  agent: http.Agent | false = false,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: urlPath,
        agent,
        timeout: timeoutMs,
        headers: body ? { ...headers, 'content-length': String(body.length) } : headers,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${urlPath}: timed out`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** Polls `GET /healthz` until 200; fails with the log's tail if the child exits or the time runs out. */
export async function waitHealthy(
  port: number,
  child: ChildProcess,
  logFile: string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError = 'no answer';
  while (Date.now() < deadline) {
    if (exited(child)) {
      throw new Error(
        `exited during start (code ${child.exitCode}, signal ${child.signalCode}); ` +
          `log ${logFile}:\n${tail(logFile)}`,
      );
    }
    try {
      const answer = await request('GET', port, '/healthz', undefined, {}, 1000);
      if (answer.status === 200) {
        return;
      }
      lastError = `GET /healthz answered ${answer.status}`;
    } catch (err) {
      lastError = (err as Error).message;
    }
    await sleep(100);
  }
  throw new Error(
    `not healthy after ${timeoutMs / 1000} s (${lastError}); log ${logFile}:\n${tail(logFile)}`,
  );
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/**
 * The caller's environment without the settings of its shell that would change what flowhook
 * does: a server is started with this, then the bench's own settings.
 */
export function callerEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const key of ['DATABASE_URL', 'ADMIN_TOKEN', 'NODE_OPTIONS', 'METRICS', 'METRICS_TOKEN']) {
    delete env[key];
  }
  for (const key of Object.keys(env)) if (key.startsWith('OTEL_')) delete env[key];
  return env;
}

/**
 * BENCH_COMPARE_ENV="KEY=value KEY2=value": the environment of flowhook-b and flowhook-async-b
 * differs by these (with this build when BENCH_COMPARE is unset): a setting's A/B in one run.
 */
export const COMPARE_ENV: Record<string, string> = Object.fromEntries(
  (process.env.BENCH_COMPARE_ENV ?? '')
    .split(/\s+/)
    .filter((pair) => pair.includes('='))
    .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
);
