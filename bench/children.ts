// What the bench's runners (run.ts, paired.ts, warm-up.ts, instructions.ts, allocations.ts)
// share: the child processes they start (the fake flow API, the servers) and stop, the HTTP
// requests they make, and the servers' environment.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHmac, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import autocannon from 'autocannon';

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

/** The checkout's root (this file is dist/bench/children.js), and where the runners write. */
export const ROOT = path.join(__dirname, '..', '..');
export const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
/** This run's time, in the names of the files it writes. */
export const STAMP = new Date().toISOString().replace(/[:.]/g, '-');

/** The servers instructions.ts and allocations.ts count: flowhook-b runs BENCH_COMPARE's build. */
export const COUNTED_SERVERS = [
  'raw',
  'express',
  'flowhook',
  'flowhook-async',
  'flowhook-b',
  'flowhook-async-b',
] as const;
export type CountedServer = (typeof COUNTED_SERVERS)[number];

/** The bench's flowhook mapping directory (`mode: sync`). */
export const MAPPINGS_DIR = path.join(__dirname, '..', '..', 'bench', 'mappings');

/**
 * flowhook-async's mappings: the bench's github.yaml with `mode: async` (as `npm run bench`
 * writes it), in `dir`.
 */
function writeAsyncMappings(dir: string): void {
  fs.mkdirSync(dir, { recursive: true });
  const github = fs.readFileSync(path.join(MAPPINGS_DIR, 'github.yaml'), 'utf8');
  fs.writeFileSync(path.join(dir, 'github.yaml'), `mode: async\n${github}`);
}

/** What a server of the counting runners is given: what `npm run bench` gives it. */
function countedServerEnv(options: {
  port: number;
  apiPort: number;
  mappingsDir: string;
  dataDir: string;
  secret: string;
  /** flowhook-b, flowhook-async-b: BENCH_COMPARE_ENV on top. */
  compare: boolean;
}): NodeJS.ProcessEnv {
  return {
    ...callerEnv(),
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    PORT: String(options.port),
    HOST,
    FLOW_BASE_URL: `http://${HOST}:${options.apiPort}`,
    FLOW_ORG_ID: 'bench-org',
    FLOW_API_TOKEN: API_TOKEN,
    MAPPINGS_DIR: options.mappingsDir,
    DATA_DIR: options.dataDir,
    GITHUB_WEBHOOK_SECRET: options.secret,
    DEPLOY_FLOW_ID: 'deploy-flow',
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
    ...(options.compare ? COMPARE_ENV : {}),
  };
}

/** flowhook-async and flowhook-async-b: the bench's mapping with `mode: async`. */
export function isAsyncServer(name: string): boolean {
  return name.includes('-async');
}

/**
 * What a counting runner's server needs on disk and in its environment: a fresh DATA_DIR under
 * bench/results/ and, for an async server, the mapping with `mode: async` beside it; `env` names
 * them (BENCH_COMPARE_ENV on top for flowhook-b and flowhook-async-b). `remove` deletes both
 * once the server has stopped.
 */
export function countedServerFiles(options: {
  /** The runner's name, in the directories' names. */
  runner: string;
  name: string;
  port: number;
  apiPort: number;
  secret: string;
}): { env: NodeJS.ProcessEnv; remove(): void } {
  const { runner, name, port } = options;
  const dataDir = path.join(RESULTS_DIR, `${STAMP}-${runner}-data-${port}`);
  const asyncMappings = path.join(RESULTS_DIR, `${STAMP}-${runner}-mappings-${port}`);
  if (isAsyncServer(name)) writeAsyncMappings(asyncMappings);
  return {
    env: countedServerEnv({
      port,
      apiPort: options.apiPort,
      mappingsDir: isAsyncServer(name) ? asyncMappings : MAPPINGS_DIR,
      dataDir,
      secret: options.secret,
      compare: name.endsWith('-b'),
    }),
    remove() {
      fs.rmSync(dataDir, { recursive: true, force: true });
      fs.rmSync(asyncMappings, { recursive: true, force: true });
    },
  };
}

/** A counting runner's server, started and healthy, with its own fake flow API. */
export interface CountedServerRun {
  readonly name: CountedServer;
  readonly child: ChildProcess;
  readonly port: number;
  readonly api: FakeApi;
  /** Stops the server and its fake flow API, then deletes its DATA_DIR (and async mappings). */
  stop(): Promise<void>;
}

/**
 * Starts one server as the counting runners (warm-up.ts, paired.ts, instructions.ts,
 * allocations.ts) do: a fresh fake flow API, a free port, the server's files and environment
 * (countedServerFiles), its output appended to `bench/results/<STAMP>-<name>-<runner>.log`; then
 * waits for its health. `command` turns the server's arguments after `node` (benchServerArgs, of
 * BENCH_COMPARE's build for a `-b` server) into what is spawned: `taskset`, valgrind, node flags.
 * When it does not become healthy, everything started is stopped and removed before the error.
 */
export async function startCountedServer(options: {
  runner: string;
  name: CountedServer;
  secret: string;
  /** The checkout whose build a `-b` server runs (BENCH_COMPARE; this one when unset). */
  compare: string | undefined;
  command: (serverArgs: string[]) => { command: string; args: string[] };
  /** On top of the server's environment (a preload's settings). */
  env?: NodeJS.ProcessEnv;
  /** How long the server has to start (default 30 s) and to exit on SIGTERM (default 10 s). */
  startTimeoutMs?: number;
  stopGraceMs?: number;
}): Promise<CountedServerRun> {
  const { runner, name, secret } = options;
  const api = await startFakeApi();
  const port = await freePort();
  const files = countedServerFiles({ runner, name, port, apiPort: api.port, secret });
  const logFile = path.join(RESULTS_DIR, `${STAMP}-${name}-${runner}.log`);
  const build = name.endsWith('-b') ? (options.compare ?? ROOT) : ROOT;
  const { command, args } = options.command(benchServerArgs(name, build));
  const log = fs.openSync(logFile, 'a');
  const child = track(
    spawn(command, args, {
      cwd: ROOT,
      stdio: ['ignore', log, log],
      env: { ...files.env, ...options.env },
    }),
  );
  fs.closeSync(log);
  // a failed spawn sets an exit code, which waitHealthy reports; this keeps it from crashing us
  child.once('error', (err) => console.error(`${name}: ${err.message}`));
  const graceMs = options.stopGraceMs ?? 10_000;
  const stop = async () => {
    await Promise.all([stopChild(child, graceMs), stopChild(api.child, graceMs)]);
    files.remove();
  };
  try {
    await waitHealthy(port, child, logFile, options.startTimeoutMs);
  } catch (error) {
    await stop();
    throw error;
  }
  return { name, child, port, api, stop };
}

/**
 * The bench's push, `bench/payloads/github-push.json`, as the bytes GitHub would send: compact
 * JSON (the file is indented for reading). Sign these exact bytes.
 */
export function pushPayload(): Buffer {
  const file = path.join(ROOT, 'bench', 'payloads', 'github-push.json');
  return Buffer.from(JSON.stringify(JSON.parse(fs.readFileSync(file, 'utf8'))));
}

/** The `X-Hub-Signature-256` of the bench's push, signed with the server's secret. */
export function pushSignature(payload: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;
}

/** The headers of one push of the runners (`npm run bench`'s), with a new delivery id. */
export function pushHeaders(signature: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'GitHub-Hookshot/bench',
    'x-github-event': 'push',
    'x-github-hook-id': '401234567',
    'x-hub-signature-256': signature,
    'x-github-delivery': randomUUID(),
  };
}

/**
 * Loads a server's `/hooks/github` with the bench's signed push for `seconds` over `connections`
 * keep-alive connections (autocannon), a new delivery id per request: the load of every runner
 * (`npm run bench`, paired.ts, warm-up.ts). Resolves with autocannon's result; a load that has not
 * ended 30 s past its duration is stopped (autocannon ends by itself: this only guards a hang).
 */
export function loadPushes(options: {
  /** The server's port, or one per instance: autocannon spreads the connections over them. */
  port: number | readonly number[];
  connections: number;
  seconds: number;
  payload: Buffer;
  signature: string;
  /** Text every answer must hold: one without it is counted in the result's `mismatches`. */
  expect?: string;
  /** autocannon's title for the run. */
  title?: string;
  /** Each second's answers, as autocannon counts them. */
  onTick?: (answers: number) => void;
  /** Each answer's latency in ms (fractional: autocannon times it with hrtime) as it arrives. */
  onResponse?: (latencyMs: number) => void;
}): Promise<autocannon.Result> {
  const ports = typeof options.port === 'number' ? [options.port] : options.port;
  const { expect, onTick, onResponse } = options;
  return new Promise((resolve, reject) => {
    // set after autocannon() returns; its callback may in principle run before that
    const timer: { guard?: NodeJS.Timeout; done?: boolean } = {};
    const instance = autocannon(
      {
        ...(options.title === undefined ? {} : { title: options.title }),
        url: ports.map((port) => `http://${HOST}:${port}/hooks/github`),
        method: 'POST',
        connections: options.connections,
        duration: options.seconds,
        timeout: 10,
        headers: pushHeaders(options.signature),
        body: options.payload,
        requests: [
          {
            // every request is a new delivery: flowhook dedupes repeated delivery ids
            setupRequest: (req) => {
              req.headers = { ...req.headers, 'x-github-delivery': randomUUID() };
              return req;
            },
          },
        ],
        ...(expect === undefined ? {} : { verifyBody: (body: string) => body.includes(expect) }),
      },
      (err, done) => {
        timer.done = true;
        clearTimeout(timer.guard);
        if (err) reject(err);
        else resolve(done);
      },
    );
    if (!timer.done) {
      timer.guard = setTimeout(() => instance.stop(), (options.seconds + 30) * 1000);
    }
    if (onTick) instance.on('tick', (tick: { counter: number }) => onTick(tick.counter));
    if (onResponse) {
      instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) =>
        onResponse(ms),
      );
    }
  });
}

/**
 * Sends `total` signed pushes to a server over `connections` keep-alive lanes, as `npm run bench`
 * sends them (its headers, a new delivery id each), and checks every answer: 202 "queued" from an
 * async server, 200 with a sessionId from a sync one. `onSent` sees the count after each send.
 */
export async function sendPushes(options: {
  name: string;
  port: number;
  payload: Buffer;
  secret: string;
  async: boolean;
  total: number;
  connections: number;
  agent: http.Agent;
  timeoutMs: number;
  onSent?: (sent: number) => void;
}): Promise<void> {
  const signature = pushSignature(options.payload, options.secret);
  const expected = options.async
    ? { status: 202, text: '"queued"' }
    : { status: 200, text: '"sessionId"' };
  let sent = 0;
  const lane = async (): Promise<void> => {
    while (sent < options.total) {
      sent += 1;
      options.onSent?.(sent);
      const answer = await request(
        'POST',
        options.port,
        '/hooks/github',
        options.payload,
        pushHeaders(signature),
        options.timeoutMs,
        options.agent,
      );
      if (answer.status !== expected.status || !answer.text.includes(expected.text)) {
        throw new Error(`${options.name} answered ${answer.status}: ${answer.text.slice(0, 200)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: options.connections }, lane));
}

/** How many executes the fake flow API has answered. */
export async function executesAt(apiPort: number, agent: http.Agent): Promise<number> {
  const answer = await request('GET', apiPort, '/count', undefined, {}, 10_000, agent);
  return (JSON.parse(answer.text) as { executes: number }).executes;
}

/** Waits until the fake flow API has answered `expected` executes (an async server's backlog). */
export async function drainedTo(
  apiPort: number,
  expected: number,
  agent: http.Agent,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await executesAt(apiPort, agent)) < expected) {
    if (Date.now() > deadline) throw new Error(`the worker did not run ${expected} deliveries`);
    await sleep(200);
  }
}

// CPU time from /proc (Linux); null elsewhere.
let clockTicks = 0;
export function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds used so far by one process. */
export function cpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) {
    return null;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); utime and stime are fields 14 and 15
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return null;
  }
}

/**
 * The command line options of the counting runners (instructions.ts, allocations.ts,
 * warm-up.ts): `--only a,b` (names among `servers`), the integer options named in `integers`
 * (`--count 1000` sets `count`), and the switches in `switches` (a flag without a value).
 */
export function parseRunnerArgs<N extends string, O extends { only: N[] }>(
  argv: readonly string[],
  servers: readonly N[],
  defaults: O,
  integers: readonly (keyof O & string)[],
  switches: Readonly<Record<string, (options: O) => void>> = {},
): O {
  const options = { ...defaults };
  for (let i = 0; i < argv.length; i += 1) {
    const flag = argv[i];
    const value = argv[i + 1] ?? '';
    const name = flag.slice(2);
    if (flag === '--only') {
      const names = value.split(',').filter(Boolean);
      const unknown = names.filter((n) => !(servers as readonly string[]).includes(n));
      if (unknown.length > 0 || names.length === 0) {
        throw new Error(`--only takes some of ${servers.join(', ')}; got ${value}`);
      }
      options.only = names as N[];
      i += 1;
    } else if (flag.startsWith('--') && (integers as readonly string[]).includes(name)) {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${flag} takes a positive integer`);
      (options as Record<string, unknown>)[name] = n;
      i += 1;
    } else if (Object.hasOwn(switches, flag)) {
      switches[flag](options);
    } else {
      throw new Error(`unknown argument ${flag}`);
    }
  }
  return options;
}

/**
 * A bench server's command line after `node`: a baseline's script, or `serve` of the flowhook
 * build in `build` (a checkout's root; its `dist/` built) for the flowhook servers.
 */
export function benchServerArgs(name: string, build: string): string[] {
  switch (name) {
    case 'raw':
      return [path.join(__dirname, 'baseline-raw.js')];
    case 'express':
      return [path.join(__dirname, 'baseline-express.js')];
    default:
      return [path.join(build, 'dist', 'src', 'cli', 'main.js'), 'serve'];
  }
}

/**
 * Runs a runner's main: every child is killed when this process exits (SIGINT and SIGTERM
 * included), and the exit status is 1 when main fails, with its message.
 */
export function runMain(main: () => Promise<void>): void {
  const stopAll = () => {
    for (const child of live) child.kill('SIGKILL');
  };
  process.on('exit', stopAll);
  process.once('SIGINT', () => process.exit(130));
  process.once('SIGTERM', () => process.exit(143));
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exit(1);
    },
  );
}
