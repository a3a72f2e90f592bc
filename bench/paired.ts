// Two servers measured in turns, a second or two each, through the same minutes (issue 15).
// `npm run bench` measures its servers one after the other, a run each, and on this machine kind a
// core's speed moves by up to 1.5× within minutes (see core-speed.ts): a ratio of two rates
// measured a minute apart can be the core's doing. Here both servers are started on core 1 and
// warmed up, then the load goes to one, then to the other, in slices of a few seconds, many times:
// a slow phase of the core (tens of seconds) falls on both alike. Only one of them is loaded at a
// time (two servers loaded at once on one core cost each ~3× its CPU per answer alone: the core
// switches between them at every request).
//
//   node dist/bench/paired.js [--only express,flowhook] [--slices 8] [--seconds 2]
//                             [--warmup 10] [--connections 32]
//
// Printed: each server's answers per second and CPU ms per answer over all its slices (CPU from
// /proc, read at each slice's start and end), the median over the pairs of slices of the second's
// rate against the first's, the p50 and p99 of every answer past its slice's first 0.25 s (a
// slice opens its connections anew, and their first answers carry that), and the core's speed
// before and after. Each server's warm-up (W s, one after the other) comes first: the figures are
// the warm servers', as in a gateway that has been running (`npm run bench` measures seconds 3–8
// of a fresh one).
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type autocannon from 'autocannon';
import {
  COUNTED_SERVERS,
  RESULTS_DIR,
  isAsyncServer,
  cpuSeconds,
  parseRunnerArgs,
  loadPushes,
  pushSignature,
  runMain,
  type CountedServer,
  pushPayload,
  startCountedServer,
  type CountedServerRun,
} from './children';
import { coreSpeeds } from './core-speed';
import { median } from './report';
import { canPin, placeLoadGenerator, serverCommand, serverCores } from './pin';

interface Options {
  only: CountedServer[];
  slices: number;
  seconds: number;
  warmup: number;
  connections: number;
}

const COMPARE = process.env.BENCH_COMPARE ? path.resolve(process.env.BENCH_COMPARE) : undefined;

function parseArgs(argv: readonly string[]): Options {
  const options = parseRunnerArgs(
    argv,
    COUNTED_SERVERS,
    {
      only: ['express', 'flowhook'] as CountedServer[],
      slices: 8,
      seconds: 2,
      warmup: 10,
      connections: 32,
    },
    ['slices', 'seconds', 'warmup', 'connections'],
  );
  if (options.only.length !== 2) throw new Error('--only takes exactly two servers');
  if (options.only.some(isAsyncServer)) {
    // Its worker would run the backlog of its slice during the other server's slice.
    throw new Error('--only takes servers that answer in the request (not flowhook-async)');
  }
  if (options.only.some((name) => name.endsWith('-b')) && COMPARE === undefined) {
    throw new Error('flowhook-b and flowhook-async-b need BENCH_COMPARE (a built checkout)');
  }
  return options;
}

/** One server of a pair, started on core 1. */
function start(name: CountedServer, secret: string): Promise<CountedServerRun> {
  return startCountedServer({
    runner: 'paired',
    name,
    secret,
    compare: COMPARE,
    command: (args) => serverCommand('pinned', args),
  });
}

/** Loads one server for `seconds` with the bench's push (a new delivery id per request). */
function load(
  server: CountedServerRun,
  opts: Options,
  seconds: number,
  payload: Buffer,
  signature: string,
  onResponse?: (latencyMs: number) => void,
): Promise<autocannon.Result> {
  return loadPushes({
    port: server.port,
    connections: opts.connections,
    seconds,
    payload,
    signature,
    onResponse,
  });
}

/**
 * A slice's first answers are left out of its latencies: they include opening its connections
 * (autocannon opens them anew for each slice) and the burst of 32 first requests at once.
 */
const SETTLE_MS = 250;

/** The q-quantile by nearest rank (q in 0..1); NaN when there is none. */
function quantile(values: number[], q: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)];
}

async function stopAll(servers: CountedServerRun[]): Promise<void> {
  await Promise.all(servers.splice(0).map((server) => server.stop()));
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  if (!canPin()) throw new Error('paired needs taskset and two cores');
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  placeLoadGenerator('pinned');
  const payload = pushPayload();
  const secret = randomBytes(20).toString('hex');
  const [a, b] = opts.only;
  console.log(
    `${a} and ${b} in turns on core 1 (the runner and their fake flow APIs on core 0): ` +
      `${opts.warmup} s of warm-up each, then ${opts.slices} slices of ${opts.seconds} s each, ` +
      `${opts.connections} connections, node ${process.version}`,
  );
  const before = await coreSpeeds(serverCores('pinned'));
  const signature = pushSignature(payload, secret);
  const servers: CountedServerRun[] = [];
  const answers = [0, 0];
  const cpu = [0, 0];
  const busy = [0, 0];
  const pairs: number[] = [];
  const p99s: [number[], number[]] = [[], []];
  /** Every answer's latency past its slice's first SETTLE_MS, per server. */
  const latencies: [number[], number[]] = [[], []];
  try {
    for (const name of opts.only) servers.push(await start(name, secret));
    for (const server of servers) await load(server, opts, opts.warmup, payload, signature);
    for (let slice = 1; slice <= opts.slices; slice += 1) {
      const rates: number[] = [];
      // Alternate which goes first, so neither always follows the other.
      const order = slice % 2 === 1 ? [0, 1] : [1, 0];
      for (const i of order) {
        const server = servers[i];
        const cpu0 = cpuSeconds(server.child.pid) ?? 0;
        const t0 = performance.now();
        const result = await load(server, opts, opts.seconds, payload, signature, (ms) => {
          if (performance.now() - ms - t0 >= SETTLE_MS) latencies[i].push(ms);
        });
        const seconds = (performance.now() - t0) / 1000;
        const used = (cpuSeconds(server.child.pid) ?? 0) - cpu0;
        if (result.non2xx > 0 || result.errors > 0) {
          throw new Error(
            `${server.name}: ${result.non2xx} answers not 2xx, ${result.errors} errors`,
          );
        }
        answers[i] += result['2xx'];
        cpu[i] += used;
        busy[i] += seconds;
        rates[i] = result['2xx'] / seconds;
        p99s[i].push(result.latency.p99);
      }
      pairs.push(rates[1] / rates[0]);
      console.log(
        `slice ${slice}: ${a} ${Math.round(rates[0])}/s, ${b} ${Math.round(rates[1])}/s: ${(rates[1] / rates[0]).toFixed(2)}x`,
      );
    }
  } finally {
    await stopAll(servers);
  }
  const after = await coreSpeeds(serverCores('pinned'));
  const rate = (i: number) => answers[i] / busy[i];
  const p99 = (i: number) => quantile(latencies[i], 0.99);
  const ms = (i: number) => (cpu[i] * 1000) / Math.max(1, answers[i]);
  for (const i of [0, 1]) {
    console.log(
      `${opts.only[i].padEnd(16)} ${Math.round(rate(i))} answers/s, ${ms(i).toFixed(2)} ms CPU per answer, ` +
        `${Math.round((100 * cpu[i]) / busy[i])}% of the core while loaded, ` +
        `p50 ${quantile(latencies[i], 0.5).toFixed(1)} ms, p99 ${p99(i).toFixed(1)} ms ` +
        `(the median of the slices' own: ${median(p99s[i])} ms)`,
    );
  }
  console.log(
    `${b}/${a}: ${(rate(1) / rate(0)).toFixed(2)}x the answers per second over all slices, ` +
      `median of the pairs ${median(pairs).toFixed(2)}x; CPU per answer ${(ms(1) / ms(0)).toFixed(2)}x; ` +
      `p99 ${(p99(1) / p99(0)).toFixed(2)}x` +
      (before && after
        ? `; core speed ${before[0].toFixed(0)} before, ${after[0].toFixed(0)} after`
        : ''),
  );
}

runMain(main);
