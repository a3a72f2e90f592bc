// Load benchmark: flowhook against two baselines doing the same work (see bench/README.md).
//   npm run bench                                   (build, then node dist/bench/run.js)
//   node dist/bench/run.js [--only raw,express,flowhook] [--profile[=names]]
//   env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_WARMUP (s, default 2),
//        BENCH_LOG_LEVEL (LOG_LEVEL of the servers, default info),
//        BENCH_POSTGRES_URL (where the flowhook-pg* servers get a database of their own)
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { generateMappings } from './generate-mappings';
import { measureLoadTime } from './load-time';
import { summarizeProfileFile } from './summarize-profile';

const SERVER_NAMES = [
  'raw',
  'express',
  'flowhook',
  'flowhook-1k',
  'flowhook-async',
  'flowhook-pg',
  'flowhook-pg-async',
  'flowhook-pg-x2',
  'flowhook-pg-async-x2',
] as const;
type ServerName = (typeof SERVER_NAMES)[number];

const HOST = '127.0.0.1';
const ORG_ID = 'bench-org';
const FLOW_ID = 'deploy-flow';
const API_TOKEN = 'bench-token';
const START_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 5_000;
const PROFILE_STOP_GRACE_MS = 15_000;

// ---------------------------------------------------------------------------------------------
// Options

interface Options {
  only: ServerName[];
  profile: ServerName[];
  duration: number;
  connections: number;
  warmup: number;
  /** Each server runs this many times, interleaved (raw, express, flowhook, raw, …); medians are reported. */
  rounds: number;
}

function usage(): string {
  return [
    'usage: node dist/bench/run.js [--only raw,express,flowhook] [--profile[=raw,express,flowhook]]',
    '  --only      servers to run, in this order (default: all three)',
    '  --profile   run the server(s) under node --cpu-prof and summarize the measured run',
    '              (bare --profile = flowhook)',
    '  env: BENCH_DURATION=10 (s)  BENCH_CONNECTIONS=50  BENCH_WARMUP=2 (s, 0 = none)',
    '       BENCH_ROUNDS=3 (interleaved runs per server; the median is reported)',
    '       BENCH_LOG_LEVEL=info (LOG_LEVEL given to flowhook)',
    '       BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres (flowhook-pg*: a',
    '       database of their own is created there per run and dropped after)',
  ].join('\n');
}

function parseNames(text: string, flag: string): ServerName[] {
  const names = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const name of names) {
    if (!(SERVER_NAMES as readonly string[]).includes(name)) {
      throw new Error(`${flag}: unknown server "${name}" (known: ${SERVER_NAMES.join(', ')})`);
    }
  }
  if (names.length === 0) {
    throw new Error(`${flag}: no server named`);
  }
  return SERVER_NAMES.filter((n) => names.includes(n));
}

function positiveNumber(name: string, fallback: number, allowZero = false): number {
  const text = process.env[name];
  if (text === undefined || text === '') {
    return fallback;
  }
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || (!allowZero && value === 0)) {
    throw new Error(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number`);
  }
  return value;
}

function parseOptions(argv: string[]): Options {
  let only: ServerName[] = [...SERVER_NAMES];
  let profile: ServerName[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log(usage());
      process.exit(0);
    } else if (arg === '--only') {
      only = parseNames(argv[++i] ?? '', '--only');
    } else if (arg.startsWith('--only=')) {
      only = parseNames(arg.slice('--only='.length), '--only');
    } else if (arg === '--profile') {
      profile = ['flowhook'];
    } else if (arg.startsWith('--profile=')) {
      profile = parseNames(arg.slice('--profile='.length), '--profile');
    } else {
      throw new Error(`unknown argument: ${arg}`);
    }
  }
  return {
    only,
    profile,
    duration: positiveNumber('BENCH_DURATION', 10),
    connections: Math.round(positiveNumber('BENCH_CONNECTIONS', 50)),
    warmup: positiveNumber('BENCH_WARMUP', 2, true),
    rounds: Math.round(positiveNumber('BENCH_ROUNDS', 3)),
  };
}

// ---------------------------------------------------------------------------------------------
// Paths

function findRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 5; i++) {
    if (fs.existsSync(path.join(dir, 'bench', 'payloads', 'github-push.json'))) {
      return dir;
    }
    dir = path.dirname(dir);
  }
  throw new Error(`cannot find the project root (bench/payloads) above ${__dirname}`);
}

const ROOT = findRoot();
const RESULTS_DIR = path.join(ROOT, 'bench', 'results');
const MAPPINGS_DIR = path.join(ROOT, 'bench', 'mappings');
const FLOWHOOK_MAIN = path.join(ROOT, 'dist', 'src', 'cli', 'main.js');
const STAMP = new Date().toISOString().replace(/[:.]/g, '-');

// ---------------------------------------------------------------------------------------------
// Children

const live = new Set<ChildProcess>();

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function exited(child: ChildProcess): boolean {
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
async function stopChild(child: ChildProcess, graceMs: number): Promise<'exited' | 'killed'> {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function freePort(): Promise<number> {
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

interface FakeApi {
  child: ChildProcess;
  port: number;
}

function startFakeApi(): Promise<FakeApi> {
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

interface HttpAnswer {
  status: number;
  text: string;
}

function request(
  method: string,
  port: number,
  urlPath: string,
  body?: Buffer,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<HttpAnswer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: HOST,
        port,
        method,
        path: urlPath,
        agent: false,
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

async function executeCount(apiPort: number): Promise<number> {
  const answer = await request('GET', apiPort, '/count');
  return (JSON.parse(answer.text) as { executes: number }).executes;
}

/** Count of executes once it stops moving (requests still in flight when the load stopped). */
async function settledCount(apiPort: number): Promise<number> {
  const deadline = Date.now() + 3000;
  let last = await executeCount(apiPort);
  let stableSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const now = await executeCount(apiPort);
    if (now !== last) {
      last = now;
      stableSince = Date.now();
    } else if (Date.now() - stableSince >= 300) {
      break;
    }
  }
  return last;
}

async function waitHealthy(port: number, child: ChildProcess, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
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
    `not healthy after ${START_TIMEOUT_MS / 1000} s (${lastError}); log ${logFile}:\n${tail(logFile)}`,
  );
}

function tail(file: string, lines = 20): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

// CPU time from /proc (Linux); null elsewhere.
let clockTicks = 0;
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' })) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** CPU seconds used so far by every process on the machine (busy time of all cores). */
function machineCpuSeconds(): number | null {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    // cpu user nice system idle iowait irq softirq steal ...
    const [user, nice, system, , , irq, softirq, steal] = line
      .trim()
      .split(/\s+/)
      .slice(1)
      .map(Number);
    return (user + nice + system + irq + softirq + (steal || 0)) / ticksPerSecond();
  } catch {
    return null;
  }
}

/** CPU seconds used so far by several processes (the instances of one server). */
function cpuOf(children: readonly ChildProcess[]): number | null {
  let total = 0;
  for (const child of children) {
    const used = cpuSeconds(child.pid);
    if (used === null) return null;
    total += used;
  }
  return total;
}

/** CPU seconds used so far by one process. */
function cpuSeconds(pid: number | undefined): number | null {
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

// ---------------------------------------------------------------------------------------------
// Load

interface Load {
  /** One URL per instance: autocannon spreads the connections over them. */
  url: string[];
  body: Buffer;
  headers: Record<string, string>;
  /** What every answer must contain: a sessionId (sync), "queued" (async). */
  expect: string;
}

function runCannon(
  load: Load,
  connections: number,
  duration: number,
  title: string,
): Promise<autocannon.Result> {
  return new Promise((resolve, reject) => {
    // set after autocannon() returns; its callback may in principle run before that
    const timer: { guard?: NodeJS.Timeout; done?: boolean } = {};
    const instance = autocannon(
      {
        title,
        url: load.url,
        method: 'POST',
        connections,
        duration,
        timeout: 10,
        headers: load.headers,
        body: load.body,
        requests: [
          {
            // every request is a new delivery: flowhook dedupes repeated delivery ids
            setupRequest: (req) => {
              req.headers = { ...req.headers, 'X-GitHub-Delivery': randomUUID() };
              return req;
            },
          },
        ],
        verifyBody: (body) => body.includes(load.expect),
      },
      (err, result) => {
        timer.done = true;
        clearTimeout(timer.guard);
        if (err) {
          reject(err);
        } else {
          resolve(result);
        }
      },
    );
    // autocannon ends by itself after `duration`; this only guards against a hang
    if (!timer.done) {
      timer.guard = setTimeout(() => instance.stop(), (duration + 30) * 1000);
    }
  });
}

interface Measured {
  name: ServerName;
  status: 'ok' | 'skipped' | 'failed';
  note?: string;
  rps?: number;
  p50?: number;
  p99?: number;
  ok2xx?: number;
  non2xx?: number;
  errors?: number;
  timeouts?: number;
  mismatches?: number;
  completed?: number;
  executes?: number;
  serverCpu?: number | null;
  apiCpu?: number | null;
  loaderCpu?: number;
  otherCpu?: number | null;
  statusCodes?: Record<string, { count: number }>;
  warmupNon2xx?: number;
  log?: string;
  profile?: string;
  profileSummary?: string;
  /** PostgreSQL: transactions committed in the bench database, and WAL fsyncs (whole server). */
  pgCommitsPerSec?: number;
  pgSyncsPerSec?: number;
}

function serverArgs(name: ServerName, profile: boolean): string[] {
  const prof = profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${RESULTS_DIR}`,
        `--cpu-prof-name=${STAMP}-${name}.cpuprofile`,
        '--require',
        path.join(__dirname, 'exit-on-signal.js'),
      ]
    : [];
  switch (name) {
    case 'raw':
      return [...prof, path.join(__dirname, 'baseline-raw.js')];
    case 'express':
      return [...prof, path.join(__dirname, 'baseline-express.js')];
    default:
      return [...prof, FLOWHOOK_MAIN, 'serve'];
  }
}

const isAsync = (name: ServerName) => name.endsWith('-async') || name.endsWith('-async-x2');
const isPostgres = (name: ServerName) => name.startsWith('flowhook-pg');
/** flowhook-pg-x2, flowhook-pg-async-x2: two instances on one database, the load spread over both. */
const instancesOf = (name: ServerName) => (name.endsWith('-x2') ? 2 : 1);

const BENCH_POSTGRES_URL =
  process.env.BENCH_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

/** A fresh database for one PostgreSQL run (so each starts empty); `drop` removes it. */
async function benchDatabase(): Promise<{
  url: string;
  drop: () => Promise<void>;
  commits: () => Promise<{ commits: number; syncs: number }>;
}> {
  const name = `flowhook_bench_${randomBytes(5).toString('hex')}`;
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  await admin(`CREATE DATABASE ${name}`);
  const url = new URL(BENCH_POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: () => admin(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
    async commits() {
      const client = new pg.Client({ connectionString: BENCH_POSTGRES_URL });
      await client.connect();
      try {
        const { rows } = await client.query<{ commits: string; syncs: string }>(
          `SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = $1) AS commits,
                  (SELECT wal_sync FROM pg_stat_wal) AS syncs`,
          [name],
        );
        return { commits: Number(rows[0].commits), syncs: Number(rows[0].syncs) };
      } finally {
        await client.end();
      }
    },
  };
}

/** flowhook-async: the same source with `mode: async` (the answer is 202 once the delivery is stored). */
const MAPPINGS_ASYNC_DIR = path.join(RESULTS_DIR, 'mappings-async');

/** flowhook-1k: the same source among 1,000 mapping files (routing must not slow down with them). */
const MAPPINGS_1K_DIR = path.join(RESULTS_DIR, 'mappings-1000');

function serverEnv(
  name: ServerName,
  port: number,
  apiPort: number,
  secret: string,
  databaseUrl: string | undefined,
): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  // settings of the caller's shell that would change what flowhook does
  for (const key of ['DATABASE_URL', 'ADMIN_TOKEN', 'NODE_OPTIONS']) {
    delete env[key];
  }
  return {
    ...env,
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    PORT: String(port),
    HOST,
    FLOW_BASE_URL: `http://${HOST}:${apiPort}`,
    FLOW_ORG_ID: ORG_ID,
    FLOW_API_TOKEN: API_TOKEN,
    MAPPINGS_DIR:
      name === 'flowhook-1k' ? MAPPINGS_1K_DIR : isAsync(name) ? MAPPINGS_ASYNC_DIR : MAPPINGS_DIR,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: path.join(RESULTS_DIR, `${STAMP}-data-${port}`),
    GITHUB_WEBHOOK_SECRET: secret,
    DEPLOY_FLOW_ID: FLOW_ID,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
  };
}

async function benchOne(
  name: ServerName,
  opts: Options,
  payload: Buffer,
  secret: string,
  signature: string,
): Promise<Measured> {
  const profile = opts.profile.includes(name);
  const logFile = path.join(RESULTS_DIR, `${STAMP}-${name}.log`);
  const out: Measured = { name, status: 'failed', log: path.relative(ROOT, logFile) };
  let api: FakeApi | undefined;
  const servers: ChildProcess[] = [];
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined;
  try {
    api = await startFakeApi();
    if (isPostgres(name)) database = await benchDatabase();
    const ports: number[] = [];
    for (let i = 0; i < instancesOf(name); i++) {
      const port = await freePort();
      const logFd = fs.openSync(logFile, 'a');
      let child: ChildProcess;
      try {
        child = track(
          spawn(process.execPath, serverArgs(name, profile), {
            cwd: ROOT,
            env: serverEnv(name, port, api.port, secret, database?.url),
            stdio: ['ignore', logFd, logFd],
          }),
        );
      } finally {
        fs.closeSync(logFd);
      }
      servers.push(child);
      ports.push(port);
      await waitHealthy(port, child, path.relative(ROOT, logFile));
    }
    const port = ports[0];

    const load: Load = {
      expect: isAsync(name) ? '"queued"' : '"sessionId"',
      url: ports.map((p) => `http://${HOST}:${p}/hooks/github`),
      body: payload,
      headers: {
        'Content-Type': 'application/json',
        'User-Agent': 'GitHub-Hookshot/bench',
        'X-GitHub-Event': 'push',
        'X-GitHub-Hook-ID': '401234567',
        'X-Hub-Signature-256': signature,
      },
    };

    // one request first, so a misconfiguration fails with its answer instead of a count
    const smoke = await request(
      'POST',
      port,
      '/hooks/github',
      payload,
      { ...load.headers, 'X-GitHub-Delivery': randomUUID() },
      10_000,
    );
    if (smoke.status < 200 || smoke.status > 299 || !smoke.text.includes(load.expect)) {
      throw new Error(`first request answered ${smoke.status}: ${smoke.text.slice(0, 500)}`);
    }

    if (opts.warmup > 0) {
      process.stdout.write(`  ${name}: warm-up ${opts.warmup} s… `);
      const warm = await runCannon(load, opts.connections, opts.warmup, `${name} warm-up`);
      out.warmupNon2xx = warm.non2xx;
      process.stdout.write(`${Math.round(warm.requests.average)} req/s\n`);
    }

    const before = await settledCount(api.port);
    const pg0 = await database?.commits();
    const serverCpu0 = cpuOf(servers);
    const apiCpu0 = cpuSeconds(api.child.pid);
    const loaderCpu0 = process.cpuUsage();
    const machineCpu0 = machineCpuSeconds();
    const t0 = process.hrtime.bigint();
    process.stdout.write(
      `  ${name}: measuring ${opts.duration} s, ${opts.connections} connections… `,
    );
    const result = await runCannon(load, opts.connections, opts.duration, name);
    const t1 = process.hrtime.bigint();
    const wall = Number(t1 - t0) / 1e9;
    const serverCpu1 = cpuOf(servers);
    const apiCpu1 = cpuSeconds(api.child.pid);
    const loaderCpu = process.cpuUsage(loaderCpu0);
    const machineCpu1 = machineCpuSeconds();
    const after = await settledCount(api.port);
    const pg1 = await database?.commits();
    if (pg0 && pg1) {
      out.pgCommitsPerSec = (pg1.commits - pg0.commits) / wall;
      out.pgSyncsPerSec = (pg1.syncs - pg0.syncs) / wall;
    }
    process.stdout.write(`${Math.round(result.requests.average)} req/s\n`);

    const rate = (a: number | null, b: number | null): number | null =>
      a !== null && b !== null ? (b - a) / wall : null;
    const serverRate = rate(serverCpu0, serverCpu1);
    const apiRate = rate(apiCpu0, apiCpu1);
    const loaderRate = (loaderCpu.user + loaderCpu.system) / 1e6 / wall;
    const machineRate = rate(machineCpu0, machineCpu1);
    Object.assign(out, {
      status: 'ok',
      rps: result.requests.average,
      p50: result.latency.p50,
      p99: result.latency.p99,
      ok2xx: result['2xx'],
      non2xx: result.non2xx,
      errors: result.errors,
      timeouts: result.timeouts,
      mismatches: result.mismatches,
      completed: result.requests.total,
      executes: after - before,
      serverCpu: serverRate,
      apiCpu: apiRate,
      loaderCpu: loaderRate,
      otherCpu:
        machineRate !== null && serverRate !== null && apiRate !== null
          ? Math.max(0, machineRate - serverRate - apiRate - loaderRate)
          : null,
      statusCodes: result.statusCodeStats,
    } satisfies Partial<Measured>);

    if (profile) {
      const stopped = await stopChild(servers[0], PROFILE_STOP_GRACE_MS);
      const file = path.join(RESULTS_DIR, `${STAMP}-${name}.cpuprofile`);
      if (fs.existsSync(file)) {
        out.profile = path.relative(ROOT, file);
        out.profileSummary = summarizeProfileFile(file, {
          top: 25,
          root: ROOT,
          windowUs: { start: Number(t0 / 1000n), end: Number(t1 / 1000n) },
        });
      } else {
        out.note = `no .cpuprofile written (server ${stopped} on SIGTERM)`;
      }
    }
  } catch (err) {
    out.status = 'failed';
    out.note = (err as Error).message;
  } finally {
    await Promise.all(
      servers.map((child) => stopChild(child, profile ? PROFILE_STOP_GRACE_MS : STOP_GRACE_MS)),
    );
    await database?.drop().catch(() => undefined);
    if (api) {
      await stopChild(api.child, STOP_GRACE_MS);
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Report

function fmt(value: number | null | undefined, digits = 0): string {
  return value === undefined || value === null ? '-' : value.toFixed(digits);
}

function pct(value: number | null | undefined): string {
  return value === undefined || value === null ? '-' : `${Math.round(value * 100)}%`;
}

function table(rows: Measured[]): string {
  const header = [
    'server',
    'req/s',
    'p50 ms',
    'p99 ms',
    '2xx',
    'non-2xx',
    'errors',
    'completed',
    'executes',
    'srv CPU',
    'api CPU',
    'lg CPU',
    'other CPU',
  ];
  const body = rows
    .filter((r) => r.status === 'ok')
    .map((r) => [
      r.name,
      fmt(r.rps),
      fmt(r.p50),
      fmt(r.p99),
      fmt(r.ok2xx),
      fmt(r.non2xx),
      r.timeouts ? `${fmt(r.errors)} (${r.timeouts} t/o)` : fmt(r.errors),
      fmt(r.completed),
      fmt(r.executes),
      pct(r.serverCpu),
      pct(r.apiCpu),
      pct(r.loaderCpu),
      pct(r.otherCpu),
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function ratios(rows: Measured[]): string[] {
  const get = (name: ServerName): Measured | undefined =>
    rows.find((r) => r.name === name && r.status === 'ok');
  const lines: string[] = [];
  for (const [a, b] of [
    ['flowhook', 'express'],
    ['flowhook-1k', 'express'],
    ['flowhook-1k', 'flowhook'],
    ['flowhook-async', 'flowhook'],
    ['flowhook-pg', 'flowhook'],
    ['flowhook-pg-async', 'flowhook-async'],
    ['flowhook-pg-x2', 'flowhook-pg'],
    ['flowhook-pg-async-x2', 'flowhook-pg-async'],
    ['flowhook', 'raw'],
    ['express', 'raw'],
  ] as [ServerName, ServerName][]) {
    const x = get(a);
    const y = get(b);
    if (x?.rps && y?.rps && x.p99 !== undefined && y.p99) {
      lines.push(
        `${`${a}/${b}`.padEnd(17)} throughput ${(x.rps / y.rps).toFixed(2)}x   ` +
          `p99 ${(x.p99 / y.p99).toFixed(2)}x`,
      );
    }
  }
  return lines;
}

function report(rows: Measured[], opts: Options): void {
  if (rows.some((row) => row.status === 'ok')) {
    console.log('');
    console.log(table(rows));
    const r = ratios(rows);
    if (r.length > 0) {
      console.log('');
      console.log('Ratios (throughput: higher is better; p99: lower is better):');
      for (const line of r) {
        console.log(`  ${line}`);
      }
    }
    console.log('');
    console.log(
      'completed = responses received in the measured run; executes = execute calls the fake flow\n' +
        'API answered in that window (it may exceed completed by up to the connection count: requests\n' +
        "in flight when the load stopped). Latencies have autocannon's 1 ms resolution.\n" +
        'CPU = core-seconds per second (100% = one core busy) of the server, the fake flow API, the\n' +
        'load generator (this process) and everything else on the machine (other: if it is high,\n' +
        'something else was running and the figures are not comparable; run again).',
    );
  }
  for (const row of rows) {
    if (row.status !== 'ok') {
      console.log(`\n${row.name}: ${row.status.toUpperCase()} — ${row.note ?? ''}`);
      continue;
    }
    const notes: string[] = [];
    if (row.non2xx) {
      notes.push(`non-2xx answers: ${JSON.stringify(row.statusCodes)}`);
    }
    if (row.pgCommitsPerSec !== undefined) {
      notes.push(
        `PostgreSQL: ${fmt(row.pgCommitsPerSec)} commits/s in its database, ` +
          `${fmt(row.pgSyncsPerSec)} WAL fsyncs/s on the server`,
      );
    }
    if (row.warmupNon2xx) {
      notes.push(`${row.warmupNon2xx} non-2xx answers during warm-up`);
    }
    if (row.mismatches) {
      notes.push(`${row.mismatches} answers without a sessionId`);
    }
    const missing = (row.ok2xx ?? 0) - (row.executes ?? 0);
    if (missing > 0) {
      notes.push(`${missing} 2xx answers without an execute (deduplicated? dry-run? ignored?)`);
    }
    if ((row.executes ?? 0) - (row.completed ?? 0) > opts.connections) {
      notes.push('more executes than completed requests plus in-flight ones (retries?)');
    }
    if ((row.otherCpu ?? 0) > 0.2) {
      notes.push(
        `other processes used ${pct(row.otherCpu)} of a core during the run: figures are noisy`,
      );
    }
    if (row.note) {
      notes.push(row.note);
    }
    if (notes.length > 0) {
      console.log(`\n${row.name}: ${notes.join('; ')}`);
    }
    if (row.profileSummary) {
      console.log(`\nCPU profile of ${row.name} (${row.profile}):\n${row.profileSummary}`);
    }
  }
  const logs = rows.filter((r) => r.log).map((r) => `${r.name}: ${r.log}`);
  if (logs.length > 0) {
    console.log(`\nServer logs: ${logs.join(', ')}`);
  }
  if (rows.some((r) => r.profile !== undefined) && opts.profile.length > 0) {
    console.log(
      'Profiled servers run slower than unprofiled ones; compare ratios without --profile.',
    );
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/** A server's rounds as one row: the round with the median req/s, with the median p50 and p99. */
function medianRow(runs: Measured[]): Measured {
  const ok = runs.filter((r) => r.status === 'ok' && r.rps !== undefined);
  if (ok.length === 0) return runs.find((r) => r.status === 'failed') ?? runs[0];
  const byRps = [...ok].sort((a, b) => (a.rps ?? 0) - (b.rps ?? 0));
  const middle = byRps[Math.floor((byRps.length - 1) / 2)];
  const p = (key: 'p50' | 'p99') => median(ok.map((r) => r[key] ?? 0));
  return { ...middle, rps: median(ok.map((r) => r.rps ?? 0)), p50: p('p50'), p99: p('p99') };
}

function printRounds(all: Measured[], opts: Options): void {
  console.log('\nEach round (req/s, p99 ms):');
  for (const name of opts.only) {
    const runs = all.filter((r) => r.name === name && r.status === 'ok');
    console.log(
      `  ${name.padEnd(9)} ${runs.map((r) => `${fmt(r.rps)} (${fmt(r.p99)})`).join('  ')}`,
    );
  }
  const fh = all.filter((r) => r.name === 'flowhook' && r.status === 'ok');
  const ex = all.filter((r) => r.name === 'express' && r.status === 'ok');
  if (fh.length > 0 && fh.length === ex.length) {
    const perRound = fh.map((r, i) => ((r.rps ?? 0) / (ex[i].rps ?? 1)).toFixed(2));
    console.log(`  flowhook/express throughput per round: ${perRound.join('  ')}`);
  }
}

// ---------------------------------------------------------------------------------------------

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = parseOptions(process.argv.slice(2));
  } catch (err) {
    console.error(`${(err as Error).message}\n${usage()}`);
    return 2;
  }
  fs.mkdirSync(RESULTS_DIR, { recursive: true });

  // GitHub sends compact JSON; sign the exact bytes once.
  const payload = Buffer.from(
    JSON.stringify(
      JSON.parse(fs.readFileSync(path.join(ROOT, 'bench', 'payloads', 'github-push.json'), 'utf8')),
    ),
  );
  const secret = randomBytes(20).toString('hex');
  const signature = `sha256=${createHmac('sha256', secret).update(payload).digest('hex')}`;

  console.log(
    `flowhook bench: ${opts.rounds} round(s) of ${opts.duration} s measured after ${opts.warmup} s warm-up, ` +
      `${opts.connections} connections, ${payload.length}-byte push payload, node ${process.version}, ` +
      `${os.cpus().length} CPUs shared by load generator, server and fake flow API`,
  );

  if (opts.only.some(isAsync)) {
    fs.mkdirSync(MAPPINGS_ASYNC_DIR, { recursive: true });
    const github = fs.readFileSync(path.join(MAPPINGS_DIR, 'github.yaml'), 'utf8');
    fs.writeFileSync(path.join(MAPPINGS_ASYNC_DIR, 'github.yaml'), `mode: async\n${github}`);
  }
  if (opts.only.includes('flowhook-1k')) {
    const load = measureLoadTime(1000);
    generateMappings(MAPPINGS_DIR, MAPPINGS_1K_DIR, 1000);
    console.log(
      `loading 1,000 mapping files: ${load.coldMs.toFixed(0)} ms at start, ${load.ms.toFixed(0)} ms on a reload`,
    );
  }

  // Interleaved rounds: a slow minute of the machine hits every server alike, and the median of
  // each server's rounds is what the table and the ratios use.
  const all: Measured[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    if (opts.rounds > 1) console.log(`round ${round} of ${opts.rounds}`);
    for (const name of opts.only) {
      if (name.startsWith('flowhook') && !fs.existsSync(FLOWHOOK_MAIN)) {
        const note = `${path.relative(ROOT, FLOWHOOK_MAIN)} does not exist (run npm run build)`;
        console.log(`  flowhook: skipped, ${note}`);
        all.push({ name, status: 'skipped', note });
        continue;
      }
      // Profile the first round only: a profiled server is slower, and one profile is enough.
      const roundOpts = round === 1 ? opts : { ...opts, profile: [] };
      const row = await benchOne(name, roundOpts, payload, secret, signature);
      if (row.status === 'failed') {
        console.log(`  ${name}: FAILED`);
      }
      all.push(row);
    }
  }
  const rows = opts.only.map((name) => medianRow(all.filter((r) => r.name === name)));
  if (opts.rounds > 1) printRounds(all, opts);

  report(rows, opts);
  fs.writeFileSync(
    path.join(RESULTS_DIR, `${STAMP}-results.json`),
    JSON.stringify({ options: opts, node: process.version, medians: rows, rounds: all }, null, 2),
  );

  const failed = all.some(
    (r) => r.status === 'failed' || (r.non2xx ?? 0) > 0 || (r.warmupNon2xx ?? 0) > 0,
  );
  const nothing = all.every((r) => r.status === 'skipped');
  return failed || nothing ? 1 : 0;
}

function shutdownChildren(signal: NodeJS.Signals): void {
  for (const child of live) {
    child.kill('SIGTERM');
  }
  process.exit(signal === 'SIGINT' ? 130 : 143);
}
process.once('SIGINT', shutdownChildren);
process.once('SIGTERM', shutdownChildren);

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    for (const child of live) {
      child.kill('SIGTERM');
    }
    process.exitCode = 1;
  },
);
