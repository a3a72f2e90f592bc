// Load benchmark: flowhook against two baselines doing the same work (see bench/README.md).
//   npm run bench                                   (build, then node dist/bench/run.js)
//   node dist/bench/run.js [--only raw,express,flowhook] [--profile[=names]] [--pin[=both] | --no-pin]
//   env: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 50), BENCH_WARMUP (s, default 2),
//        BENCH_LOG_LEVEL (LOG_LEVEL of the servers, default info),
//        BENCH_POSTGRES_URL (where the flowhook-pg* servers get a database of their own),
//        BENCH_KEEP_DATA=1 (keep each server's DATA_DIR under bench/results/ after its run)
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import {
  API_TOKEN,
  COMPARE_ENV,
  HOST,
  callerEnv,
  cpuSeconds,
  freePort,
  live,
  loadPushes,
  pushHeaders,
  pushSignature,
  request,
  sleep,
  ticksPerSecond,
  startFakeApi,
  stopChild,
  track,
  waitHealthy,
  type FakeApi,
  pushPayload,
} from './children';
import { generateMappings } from './generate-mappings';
import { measureLoadTime } from './load-time';
import { coreSpeeds } from './core-speed';
import { canPin, placeLoadGenerator, serverCommand, serverCores, type Placement } from './pin';
import { rssOfAll, sampleRss } from './rss';
import { SERVER_NAMES, type Measured, type ServerName } from './measured';
import { medianRow, printLegend, printRounds, report } from './report';
import { summarizeProfileFile } from './summarize-profile';

/** What `npm run bench` runs without --only: what issue 15's targets compare. */
const DEFAULT_SERVERS: ServerName[] = ['raw', 'express', 'flowhook', 'flowhook-async'];

const ORG_ID = 'bench-org';
const FLOW_ID = 'deploy-flow';
const STOP_GRACE_MS = 5_000;
/** How long an async server's backlog may take to drain (at least; longer runs get more). */
const DRAIN_TIMEOUT_MS = 120_000;
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
  /** shared (every process on every core), pinned (taskset: see pin.ts), or both, interleaved. */
  placements: Placement[];
}

function usage(): string {
  return [
    'usage: node dist/bench/run.js [--only raw,express,flowhook] [--profile[=raw,express,flowhook]]',
    '                              [--pin | --pin=both | --no-pin]',
    `  --only      servers to run (default: ${DEFAULT_SERVERS.join(',')}; known: ${SERVER_NAMES.join(', ')})`,
    '  --profile   run the server(s) under node --cpu-prof and summarize the measured run',
    '              (bare --profile = flowhook)',
    '  --pin       pinned only: load generator and fake flow API on core 0, the server on core 1',
    '  --pin=both  shared and pinned, interleaved (the default when taskset and 2 cores exist)',
    '  --no-pin    shared only: every process on every core',
    '  env: BENCH_DURATION=10 (s)  BENCH_CONNECTIONS=50  BENCH_WARMUP=2 (s, 0 = none)',
    '       BENCH_ROUNDS=3 (interleaved runs per server; the median is reported)',
    '       BENCH_LOG_LEVEL=info (LOG_LEVEL given to flowhook)',
    '       BENCH_POSTGRES_URL=postgres://postgres@127.0.0.1:5432/postgres (flowhook-pg*: a',
    '       database of their own is created there per run and dropped after)',
    "       BENCH_KEEP_DATA=1 (keep each server's DATA_DIR, its SQLite file, after its run;",
    '       by default it is deleted: ~140 MB per server and round)',
    '       BENCH_COMPARE=<another built checkout> (flowhook-b, flowhook-async-b run its build:',
    '       A/B in the same rounds, e.g. --only flowhook,flowhook-b)',
    '       BENCH_COMPARE_ENV="KEY=value ..." (the -b servers run with these set; with this',
    '       build when BENCH_COMPARE is unset: A/B of a setting)',
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
  let only: ServerName[] = [...DEFAULT_SERVERS];
  let profile: ServerName[] = [];
  let placements: Placement[] | undefined;
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
    } else if (arg === '--pin') {
      placements = ['pinned'];
    } else if (arg === '--pin=both') {
      placements = ['shared', 'pinned'];
    } else if (arg === '--no-pin') {
      placements = ['shared'];
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
    placements: placements ?? (canPin() ? ['shared', 'pinned'] : ['shared']),
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

interface ApiCount {
  executes: number;
  /** Date.now() of the last execute the fake flow API answered (0: none yet). */
  lastExecuteAt: number;
}

async function apiCount(apiPort: number): Promise<ApiCount> {
  const answer = await request('GET', apiPort, '/count');
  return JSON.parse(answer.text) as ApiCount;
}

async function executeCount(apiPort: number): Promise<number> {
  return (await apiCount(apiPort)).executes;
}

/**
 * Polls until the fake flow API has answered `target` executes in all (an async server's worker
 * drained its backlog), or `timeoutMs` passed; returns the count as it stands.
 */
async function waitForExecutes(
  apiPort: number,
  target: number,
  timeoutMs: number,
): Promise<ApiCount & { reached: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const count = await apiCount(apiPort);
    if (count.executes >= target) return { ...count, reached: true };
    if (Date.now() >= deadline) return { ...count, reached: false };
    await sleep(50);
  }
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

// CPU time from /proc (Linux); null elsewhere.

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

function profileFile(name: ServerName, placement: Placement): string {
  return `${STAMP}-${name}-${placement}.cpuprofile`;
}

function serverArgs(name: ServerName, profile: boolean, placement: Placement): string[] {
  const prof = profile
    ? [
        '--cpu-prof',
        `--cpu-prof-dir=${RESULTS_DIR}`,
        `--cpu-prof-name=${profileFile(name, placement)}`,
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
      return [...prof, mainOf(name) as string, 'serve'];
  }
}

/**
 * BENCH_COMPARE: another checkout of flowhook, built (`npm run build` there). Its servers,
 * flowhook-b and flowhook-async-b, run in the same rounds as this one's: an A/B comparison in one
 * run window, so both see the same machine.
 */
const COMPARE_MAIN = process.env.BENCH_COMPARE
  ? path.resolve(process.env.BENCH_COMPARE, 'dist', 'src', 'cli', 'main.js')
  : process.env.BENCH_COMPARE_ENV
    ? FLOWHOOK_MAIN
    : undefined;

/** The flowhook build a server runs (undefined: a baseline). */
function mainOf(name: ServerName): string | undefined {
  if (!name.startsWith('flowhook')) return undefined;
  if (!name.endsWith('-b')) return FLOWHOOK_MAIN;
  if (COMPARE_MAIN === undefined) throw new Error(`${name} needs BENCH_COMPARE (see --help)`);
  return COMPARE_MAIN;
}

const isAsync = (name: ServerName) => name.includes('-async');
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

/** A server's DATA_DIR (its SQLite delivery store): one per server process, fresh each run. */
function dataDirOf(port: number): string {
  return path.join(RESULTS_DIR, `${STAMP}-data-${port}`);
}

/**
 * BENCH_KEEP_DATA=1: leave each server's DATA_DIR after its run, to look into. By default it is
 * deleted once the server has stopped: a round writes ~140 MB into it, and a run of five servers
 * in two placements and three rounds left ~4 GB behind.
 */
const KEEP_DATA = process.env.BENCH_KEEP_DATA === '1';

function serverEnv(
  name: ServerName,
  port: number,
  apiPort: number,
  secret: string,
  databaseUrl: string | undefined,
): NodeJS.ProcessEnv {
  return {
    ...callerEnv(),
    NODE_ENV: process.env.NODE_ENV ?? 'production',
    PORT: String(port),
    HOST,
    FLOW_BASE_URL: `http://${HOST}:${apiPort}`,
    FLOW_ORG_ID: ORG_ID,
    FLOW_API_TOKEN: API_TOKEN,
    MAPPINGS_DIR:
      name === 'flowhook-1k' ? MAPPINGS_1K_DIR : isAsync(name) ? MAPPINGS_ASYNC_DIR : MAPPINGS_DIR,
    ...(databaseUrl ? { DATABASE_URL: databaseUrl } : {}),
    DATA_DIR: dataDirOf(port),
    GITHUB_WEBHOOK_SECRET: secret,
    DEPLOY_FLOW_ID: FLOW_ID,
    LOG_LEVEL: process.env.BENCH_LOG_LEVEL || 'info',
    // flowhook-bare: /metrics and its counters off (what metrics cost is flowhook against it).
    ...(name === 'flowhook-bare' ? { METRICS: 'off' } : {}),
    // flowhook-traced: every delivery traced (100% sampling), spans sent over OTLP/HTTP
    // (protobuf, the default) to a sink in the fake flow API's process.
    ...(name === 'flowhook-traced'
      ? {
          OTEL_EXPORTER_OTLP_ENDPOINT: `http://${HOST}:${apiPort}`,
          OTEL_TRACES_SAMPLER: 'always_on',
          OTEL_SERVICE_NAME: 'flowhook-bench',
        }
      : {}),
    ...(name.endsWith('-b') ? COMPARE_ENV : {}),
  };
}

async function benchOne(
  name: ServerName,
  placement: Placement,
  opts: Options,
  payload: Buffer,
  secret: string,
  signature: string,
): Promise<Measured> {
  const profile = opts.profile.includes(name);
  const logFile = path.join(RESULTS_DIR, `${STAMP}-${name}-${placement}.log`);
  const out: Measured = { name, placement, status: 'failed', log: path.relative(ROOT, logFile) };
  let rss: ReturnType<typeof sampleRss> | undefined;
  let api: FakeApi | undefined;
  const servers: ChildProcess[] = [];
  let database: Awaited<ReturnType<typeof benchDatabase>> | undefined;
  const ports: number[] = [];
  const cores = serverCores(placement);
  const speedBefore = await coreSpeeds(cores);
  try {
    api = await startFakeApi();
    if (isPostgres(name)) database = await benchDatabase();
    for (let i = 0; i < instancesOf(name); i++) {
      const port = await freePort();
      const logFd = fs.openSync(logFile, 'a');
      let child: ChildProcess;
      try {
        const command = serverCommand(placement, serverArgs(name, profile, placement));
        child = track(
          spawn(command.command, command.args, {
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

    // What every answer must contain: a sessionId (sync), "queued" (async).
    const expect = isAsync(name) ? '"queued"' : '"sessionId"';
    const load = (seconds: number, title: string) =>
      loadPushes({
        port: ports,
        connections: opts.connections,
        seconds,
        payload,
        signature,
        expect,
        title,
      });

    // one request first, so a misconfiguration fails with its answer instead of a count
    const smoke = await request(
      'POST',
      port,
      '/hooks/github',
      payload,
      pushHeaders(signature),
      10_000,
    );
    if (smoke.status < 200 || smoke.status > 299 || !smoke.text.includes(expect)) {
      throw new Error(`first request answered ${smoke.status}: ${smoke.text.slice(0, 500)}`);
    }

    const pids = servers.map((child) => child.pid);
    rss = sampleRss(pids);
    // Async: every accepted delivery is executed later; count them to wait for the backlog.
    let accepted = 1;
    const label = `${name} (${placement})`;
    if (opts.warmup > 0) {
      process.stdout.write(`  ${label}: warm-up ${opts.warmup} s… `);
      const warm = await load(opts.warmup, `${name} warm-up`);
      out.warmupNon2xx = warm.non2xx;
      accepted += warm['2xx'];
      process.stdout.write(`${Math.round(warm.requests.average)} req/s\n`);
    }

    // Async: the warm-up's backlog is executed first, so the drain below is the measured run's.
    const before = isAsync(name)
      ? (await waitForExecutes(api.port, accepted, DRAIN_TIMEOUT_MS)).executes
      : await settledCount(api.port);
    const pg0 = await database?.commits();
    const serverCpu0 = cpuOf(servers);
    const apiCpu0 = cpuSeconds(api.child.pid);
    const loaderCpu0 = process.cpuUsage();
    const machineCpu0 = machineCpuSeconds();
    out.rssStart = rssOfAll(pids);
    const t0 = process.hrtime.bigint();
    const startedAt = Date.now();
    process.stdout.write(
      `  ${label}: measuring ${opts.duration} s, ${opts.connections} connections… `,
    );
    const result = await load(opts.duration, name);
    const t1 = process.hrtime.bigint();
    const endedAt = Date.now();
    const wall = Number(t1 - t0) / 1e9;
    const serverCpu1 = cpuOf(servers);
    const apiCpu1 = cpuSeconds(api.child.pid);
    const loaderCpu = process.cpuUsage(loaderCpu0);
    const machineCpu1 = machineCpuSeconds();
    out.rssEnd = rssOfAll(pids);
    // Async: what the worker executed while the load ran (the drain is measured next).
    const after = isAsync(name) ? await executeCount(api.port) : await settledCount(api.port);
    const pg1 = await database?.commits();
    if (pg0 && pg1) {
      out.pgCommitsPerSec = (pg1.commits - pg0.commits) / wall;
      out.pgSyncsPerSec = (pg1.syncs - pg0.syncs) / wall;
    }
    process.stdout.write(`${Math.round(result.requests.average)} req/s`);
    if (isAsync(name)) {
      const drain = await waitForExecutes(
        api.port,
        before + result['2xx'],
        Math.max(DRAIN_TIMEOUT_MS, opts.duration * 30_000),
      );
      out.drainSeconds = Math.max(0.001, (drain.lastExecuteAt - startedAt) / 1000);
      out.drainRate = (drain.executes - before) / out.drainSeconds;
      out.drainIncomplete = !drain.reached;
      if (drain.executes > after && drain.lastExecuteAt > endedAt) {
        out.tailRate = (drain.executes - after) / ((drain.lastExecuteAt - endedAt) / 1000);
        // From the load's end to the drain's (the server idles after its last execute).
        const serverCpu2 = cpuOf(servers);
        if (serverCpu1 !== null && serverCpu2 !== null)
          out.tailCpuMs = ((serverCpu2 - serverCpu1) / (drain.executes - after)) * 1000;
      }
      process.stdout.write(
        `, ${result['2xx']} accepted, executed in ${out.drainSeconds.toFixed(1)} s: ` +
          `${Math.round(out.drainRate)}/s${drain.reached ? '' : ' (incomplete)'}`,
      );
    }
    out.rssPeak = rss.peak();
    process.stdout.write('\n');

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
      execRate: (after - before) / wall,
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
      const file = path.join(RESULTS_DIR, profileFile(name, placement));
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
    rss?.stop();
    await Promise.all(
      servers.map((child) => stopChild(child, profile ? PROFILE_STOP_GRACE_MS : STOP_GRACE_MS)),
    );
    await database?.drop().catch(() => undefined);
    if (api) {
      await stopChild(api.child, STOP_GRACE_MS);
    }
    const speedAfter = await coreSpeeds(cores);
    if (speedBefore && speedAfter)
      out.coreSpeed = { cores, before: speedBefore, after: speedAfter };
    // Last, and never thrown: a directory that cannot be removed must not leave the fake flow
    // API running nor turn a measured run into a failed one.
    for (const port of KEEP_DATA ? [] : ports) {
      try {
        fs.rmSync(dataDirOf(port), { recursive: true, force: true });
      } catch (err) {
        console.error(`could not delete ${dataDirOf(port)}: ${(err as Error).message}`);
      }
    }
  }
  return out;
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

  const payload = pushPayload();
  const secret = randomBytes(20).toString('hex');
  const signature = pushSignature(payload, secret);

  console.log(
    `flowhook bench: ${opts.rounds} round(s) of ${opts.duration} s measured after ${opts.warmup} s warm-up, ` +
      `${opts.connections} connections, ${payload.length}-byte push payload, node ${process.version}, ` +
      `${os.cpus().length} CPUs, placements: ${opts.placements.join(', ')}, ` +
      `load average ${os.loadavg()[0].toFixed(2)} at start`,
  );
  if (COMPARE_MAIN !== undefined) {
    console.log(
      `flowhook-b, flowhook-async-b: the build in ${COMPARE_MAIN}` +
        (process.env.BENCH_COMPARE_ENV ? `, with ${process.env.BENCH_COMPARE_ENV}` : ''),
    );
  }

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

  // Interleaved rounds (and placements within a round): a slow minute of the machine hits every
  // server alike, and the median of each server's rounds is what the table and the ratios use.
  const all: Measured[] = [];
  for (let round = 1; round <= opts.rounds; round++) {
    for (const placement of opts.placements) {
      console.log(`round ${round} of ${opts.rounds}, ${placement}`);
      placeLoadGenerator(placement);
      for (const name of opts.only) {
        const main = mainOf(name);
        if (main !== undefined && !fs.existsSync(main)) {
          const note = `${main} does not exist (run npm run build)`;
          console.log(`  ${name}: skipped, ${note}`);
          all.push({ name, placement, round, status: 'skipped', note });
          continue;
        }
        // Profile the first round only: a profiled server is slower, and one profile is enough.
        const roundOpts = round === 1 ? opts : { ...opts, profile: [] };
        const row = await benchOne(name, placement, roundOpts, payload, secret, signature);
        if (row.status === 'failed') {
          console.log(`  ${name}: FAILED — ${row.note ?? ''}`);
        }
        all.push({ ...row, round });
      }
    }
  }
  if (opts.placements.includes('pinned')) placeLoadGenerator('shared');
  const medians: Measured[] = [];
  for (const placement of opts.placements) {
    const rows = opts.only.map((name) =>
      medianRow(all.filter((r) => r.name === name && r.placement === placement)),
    );
    medians.push(...rows);
    printRounds(all, opts, placement);
    report(rows, opts, placement);
  }
  printLegend(opts);
  fs.writeFileSync(
    path.join(RESULTS_DIR, `${STAMP}-results.json`),
    JSON.stringify({ options: opts, node: process.version, medians, rounds: all }, null, 2),
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
