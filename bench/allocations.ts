// Bytes allocated per answer, by the function that allocated them (issue 15). Each server runs
// with V8's sampling heap profiler (bench/heap-sampler.ts, preloaded), started after a warm-up
// and stopped after a fixed number of requests; what the collector freed meanwhile is counted
// too, so the figure is everything those requests allocated, whatever lived on. The collector's
// work grows with what survives as well as with what is allocated: `--live` answers the other
// half, what is still alive after a full collection taken while the requests are in flight, and
// `--promoted` what lies between: what outlived the young generation's collections (each copied
// by the scavenger, then freed by a mark-compact), per answer.
//
//   node dist/bench/allocations.js [--only express,flowhook,flowhook-async] [--warmup 5000]
//                                  [--count 10000] [--connections 32] [--top 20] [--live | --promoted]
//   BENCH_COMPARE=/other/checkout (built) adds flowhook-b and flowhook-async-b, that build.
//
// Servers: raw, express, flowhook, flowhook-async, flowhook-b, flowhook-async-b, with the
// requests and environment of `npm run bench`. For an async server the worker's backlog is
// drained before sampling starts and before it stops: one accept and one run per delivery.
// A sample is taken about every 8 KB allocated (HEAP_SAMPLE_INTERVAL), so a function's figure
// is an estimate; the totals of two runs of one build were within ~1%.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import {
  COUNTED_SERVERS,
  ROOT,
  RESULTS_DIR,
  STAMP,
  type CountedServer,
  drainedTo,
  executesAt,
  isAsyncServer,
  parseRunnerArgs,
  runMain,
  sendPushes,
  sleep,
  pushPayload,
  startCountedServer,
} from './children';
import { groupOf, labelOf, type CallFrame } from './summarize-profile';

const SERVERS = COUNTED_SERVERS;
type ServerName = CountedServer;

interface Options {
  only: ServerName[];
  warmup: number;
  count: number;
  connections: number;
  top: number;
  live: boolean;
  promoted: boolean;
}

const REQUEST_TIMEOUT_MS = 30_000;
const DRAIN_TIMEOUT_MS = 300_000;
/** How long the profile may take to be written once asked for. */
const WRITE_TIMEOUT_MS = 60_000;

function parseArgs(argv: readonly string[]): Options {
  const options = parseRunnerArgs(
    argv,
    SERVERS,
    {
      only: ['express', 'flowhook', 'flowhook-async'],
      warmup: 5_000,
      count: 10_000,
      connections: 32,
      top: 20,
      live: false,
      promoted: false,
    },
    ['warmup', 'count', 'connections', 'top'],
    {
      '--live': (options) => (options.live = true),
      '--promoted': (options) => (options.promoted = true),
    },
  );
  if (options.live && options.promoted) throw new Error('--live and --promoted: one or the other');
  return options;
}

const COMPARE = process.env.BENCH_COMPARE ? path.resolve(process.env.BENCH_COMPARE) : undefined;

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

interface Sampled {
  name: ServerName;
  /** What the total is divided by: answers (allocated), or requests in flight (--live). */
  per: number;
  total: number;
  functions: Map<string, number>;
  groups: Map<string, number>;
}

/** Bytes by function and by package, from a sampling heap profile's tree. */
function tally(head: HeapNode): Omit<Sampled, 'name' | 'per'> {
  const functions = new Map<string, number>();
  const groups = new Map<string, number>();
  let total = 0;
  const stack: HeapNode[] = [head];
  while (stack.length > 0) {
    const node = stack.pop() as HeapNode;
    if (node.selfSize > 0) {
      const group = groupOf(node.callFrame, ROOT);
      const label = labelOf(node.callFrame, group, ROOT);
      total += node.selfSize;
      functions.set(label, (functions.get(label) ?? 0) + node.selfSize);
      groups.set(group, (groups.get(group) ?? 0) + node.selfSize);
    }
    stack.push(...node.children);
  }
  return { total, functions, groups };
}

async function sampleOne(
  name: ServerName,
  opts: Options,
  payload: Buffer,
  secret: string,
  agent: http.Agent,
): Promise<Sampled> {
  const profileFile = path.join(RESULTS_DIR, `${STAMP}-${name}.heapprofile`);
  const server = await startCountedServer({
    runner: 'allocations',
    name,
    secret,
    compare: COMPARE,
    command: (args) => ({
      command: process.execPath,
      args: ['--expose-gc', '--require', path.join(__dirname, 'heap-sampler.js'), ...args],
    }),
    env: {
      HEAP_SAMPLE_FILE: profileFile,
      ...(opts.live ? { HEAP_SAMPLE_LIVE: '1' } : {}),
      ...(opts.promoted ? { HEAP_SAMPLE_PROMOTED: '1' } : {}),
    },
  });
  const { port, api } = server;
  const signal = (sig: NodeJS.Signals) => {
    if (!server.child.kill(sig)) throw new Error(`${name}: could not signal ${sig}`);
  };
  try {
    const load = (total: number, onSent?: (sent: number) => void): Promise<void> =>
      sendPushes({
        name,
        port,
        payload,
        secret,
        async: isAsyncServer(name),
        total,
        connections: opts.connections,
        agent,
        timeoutMs: REQUEST_TIMEOUT_MS,
        onSent,
      });
    process.stdout.write(`${name}: warm-up ${opts.warmup} requests… `);
    await load(opts.warmup);
    if (isAsyncServer(name)) await drainedTo(api.port, opts.warmup, agent, DRAIN_TIMEOUT_MS);
    const before = await executesAt(api.port, agent);
    signal('SIGUSR2');
    // the server starts the sampler when it handles the signal, on its next turn
    await sleep(100);
    process.stdout.write(`sampling ${opts.count}… `);
    // --live: stopped halfway, with every connection's request in flight
    await load(opts.count, (sent) => {
      if (opts.live && sent === Math.floor(opts.count / 2)) signal('SIGWINCH');
    });
    if (isAsyncServer(name))
      await drainedTo(api.port, before + opts.count, agent, DRAIN_TIMEOUT_MS);
    const executed = (await executesAt(api.port, agent)) - before;
    if (!opts.live) signal('SIGWINCH');
    const deadline = Date.now() + WRITE_TIMEOUT_MS;
    while (!fs.existsSync(`${profileFile}.done`)) {
      if (Date.now() > deadline) throw new Error(`${name}: no heap profile written`);
      await sleep(100);
    }
    const profile = JSON.parse(fs.readFileSync(profileFile, 'utf8')) as { head: HeapNode };
    console.log(`done (${path.relative(ROOT, profileFile)})`);
    if (executed < opts.count) throw new Error(`${name}: ${executed} executes for ${opts.count}`);
    return { name, per: opts.live ? opts.connections : opts.count, ...tally(profile.head) };
  } finally {
    await server.stop();
    fs.rmSync(`${profileFile}.done`, { force: true });
  }
}

function kb(bytes: number): string {
  return (bytes / 1024).toFixed(1);
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  const agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections + 8 });
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const payload = pushPayload();
  const secret = randomBytes(20).toString('hex');
  const unit = opts.live
    ? 'KB alive per request in flight'
    : opts.promoted
      ? 'KB per answer that outlived the young generation'
      : 'KB allocated per answer';
  console.log(
    `${unit}, V8's sampling heap profiler: ${opts.warmup} requests of warm-up, then ` +
      `${opts.count} sampled, ${opts.connections} connections, node ${process.version}`,
  );
  const sampled: Sampled[] = [];
  for (const name of opts.only) sampled.push(await sampleOne(name, opts, payload, secret, agent));

  for (const s of sampled) {
    console.log(`\n${s.name}: ${kb(s.total / s.per)} ${unit}`);
    for (const [group, bytes] of [...s.groups].sort((a, b) => b[1] - a[1])) {
      console.log(`  ${kb(bytes / s.per).padStart(7)}  ${group}`);
    }
    console.log(`  top ${opts.top} functions:`);
    const top = [...s.functions].sort((a, b) => b[1] - a[1]).slice(0, opts.top);
    for (const [label, bytes] of top) console.log(`  ${kb(bytes / s.per).padStart(7)}  ${label}`);
  }
  console.log(
    `\nA function's bytes are those it allocated itself (a builtin's, JSON.parse's say, are its` +
      `\ncaller's). Each server's profile is kept under bench/results/ (*.heapprofile: open it in` +
      `\nChrome DevTools' Memory tab).` +
      (opts.live
        ? `\n--live: sampled from the warm-up's end and stopped halfway through, after a full` +
          `\ncollection; what it shows is alive at that moment, divided by the connections.`
        : opts.promoted
          ? `\n--promoted: what no scavenge freed (freed by a mark-compact, or alive at the end),` +
            `\ndivided by the answers: what the scavenger copied into the old space.`
          : ''),
  );
}

runMain(main);
