// Instructions per answer (issue 15): each server runs under Valgrind's callgrind, and what it
// executes for a fixed number of requests, after a long warm-up, is counted, in every thread of
// the process. A count does not move with the machine's hour the way a time does (on this machine
// kind the sync path of one day's builds measured from 0.57x to 0.96x of the baseline's rate,
// by the hour), so two builds, or flowhook and the baseline, can be told apart by a few percent.
// It counts user space only: a system call's work in the kernel, and how fast the machine runs
// what is counted (cache misses), are not in it; `npm run bench` measures those.
//
//   node dist/bench/instructions.js [--only express,flowhook] [--warmup 15000] [--count 1000]
//                                   [--connections 32]
//   BENCH_COMPARE=/other/checkout (built) adds flowhook-b and flowhook-async-b, that build.
//
// Servers: raw, express, flowhook, flowhook-async, flowhook-b, flowhook-async-b. Each gets a fresh
// fake flow API and DATA_DIR, as in `npm run bench`. Instrumentation is off during the warm-up
// (V8 has compiled the hot code by then) and on for `--count` requests; for an async server the
// worker's backlog is drained before and after, so the count is one accept and one run per
// delivery. Needs `valgrind` (Debian's package, 3.19 here); a server runs ~30-60x slower under it,
// so a run of two servers takes ~8 minutes.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import {
  COUNTED_SERVERS,
  ROOT,
  RESULTS_DIR,
  STAMP,
  type CountedServer,
  HOST,
  drainedTo,
  isAsyncServer,
  parseRunnerArgs,
  runMain,
  sendPushes,
  pushPayload,
  startCountedServer,
} from './children';

const SERVERS = COUNTED_SERVERS;
type ServerName = CountedServer;

interface Options {
  only: ServerName[];
  warmup: number;
  count: number;
  connections: number;
}

/** Valgrind starts Node in ~10 s here; a server that is not up in this long has failed. */
const START_TIMEOUT_MS = 180_000;
/** SIGTERM, then SIGKILL: callgrind writes its exit dump first (a few seconds). */
const STOP_GRACE_MS = 30_000;
/** One request under callgrind (32 in flight at ~10 answers a second while counting). */
const REQUEST_TIMEOUT_MS = 120_000;
/** How long a worker may take to drain its backlog under callgrind. */
const DRAIN_TIMEOUT_MS = 600_000;

function parseArgs(argv: readonly string[]): Options {
  return parseRunnerArgs(
    argv,
    SERVERS,
    { only: ['express', 'flowhook'], warmup: 15_000, count: 1_000, connections: 32 },
    ['warmup', 'count', 'connections'],
  );
}

/** flowhook-b's build: BENCH_COMPARE's (or this one again, with BENCH_COMPARE_ENV: a setting's A/B). */
const COMPARE = process.env.BENCH_COMPARE ? path.resolve(process.env.BENCH_COMPARE) : undefined;

let agent = new http.Agent({ keepAlive: true });

/** `callgrind_control` finds a run by its prefix, user and host; these must match the server's. */
function control(vgdbPrefix: string, pid: number, args: string[]): void {
  // It exits 0 even when it found no run, so its answer is read: `OK.` once the run took it.
  const said = execFileSync(
    'callgrind_control',
    [`--vgdb-prefix=${vgdbPrefix}`, ...args, String(pid)],
    {
      env: { ...process.env, HOST },
      encoding: 'utf8',
      timeout: 60_000,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  if (!/^\s*OK\.?\s*$/m.test(said)) {
    throw new Error(`callgrind_control ${args.join(' ')}: ${said.trim()}`);
  }
}

/** Instructions by where they ran, from `callgrind_annotate`'s per-function listing. */
function splitByPlace(dumpFile: string): Map<string, number> {
  const listing = execFileSync('callgrind_annotate', ['--threshold=100', '--auto=no', dumpFile], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  const places = new Map<string, number>();
  let inFunctions = false;
  for (const line of listing.split('\n')) {
    if (line.includes('file:function')) {
      inFunctions = true;
      continue;
    }
    if (!inFunctions) continue;
    // the listing ends at the next rule; source annotations follow it
    if (/^-{20}/.test(line) && places.size > 0) break;
    const match = /^\s*([\d,]+)\s+(?:\([^)]*\)\s+)?(.*)$/.exec(line);
    if (!match) continue;
    const count = Number(match[1].replace(/,/g, ''));
    places.set(placeOf(match[2]), (places.get(placeOf(match[2])) ?? 0) + count);
  }
  return places;
}

const COMPILER = 'V8 optimizing compiler';

/** A function's place: V8's collector or optimizing compiler, SQLite, libc, Node and V8, JIT code. */
function placeOf(fn: string): string {
  if (
    /Scaveng|Marking|MarkCompact|Sweep|Evacuat|heap::base|IteratePointers|SizeFromMap|Pretenuring|ShouldBePromoted/.test(
      fn,
    )
  ) {
    return 'V8 garbage collector';
  }
  if (/v8::internal::compiler::|v8::internal::maglev::/.test(fn)) return COMPILER;
  if (fn.includes('better_sqlite3.node')) return 'SQLite and better-sqlite3';
  if (fn.includes('libc.so')) return 'libc (malloc, memcpy, memset)';
  if (fn.includes('re2.node')) return 're2';
  if (/\/node\]$/.test(fn)) return 'Node and V8 (C++, builtins)';
  return 'JIT code and the rest';
}

interface Counted {
  name: ServerName;
  perRequest: number;
  places: Map<string, number>;
}

async function countOne(
  name: ServerName,
  opts: Options,
  payload: Buffer,
  secret: string,
): Promise<Counted> {
  const outFile = path.join(RESULTS_DIR, `${STAMP}-${name}.callgrind-exit`);
  const keptFile = path.join(RESULTS_DIR, `${STAMP}-${name}.callgrind`);
  const vgdbPrefix = path.join(os.tmpdir(), `flowhook-vgdb-${process.pid}`);
  // the exit dump (start-up and warm-up, uninstrumented): not what was counted
  const removeExitDumps = () => {
    for (const f of fs.readdirSync(RESULTS_DIR)) {
      if (f.startsWith(path.basename(outFile))) fs.rmSync(path.join(RESULTS_DIR, f));
    }
  };
  // its DATA_DIR, and flowhook-async's mapping with `mode: async` as `npm run bench` writes it
  const server = await startCountedServer({
    runner: 'instructions',
    name,
    secret,
    compare: COMPARE,
    command: (args) => ({
      command: 'valgrind',
      args: [
        '--tool=callgrind',
        '--instr-atstart=no',
        `--vgdb-prefix=${vgdbPrefix}`,
        `--callgrind-out-file=${outFile}`,
        process.execPath,
        ...args,
      ],
    }),
    startTimeoutMs: START_TIMEOUT_MS,
    stopGraceMs: STOP_GRACE_MS,
  }).catch((error: unknown) => {
    removeExitDumps();
    throw error;
  });
  const { port, api } = server;
  const pid = server.child.pid as number;
  try {
    const load = (total: number): Promise<void> =>
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
      });
    process.stdout.write(`${name}: warm-up ${opts.warmup} requests… `);
    await load(opts.warmup);
    if (isAsyncServer(name)) await drainedTo(api.port, opts.warmup, agent, DRAIN_TIMEOUT_MS);
    control(vgdbPrefix, pid, ['--instr=on']);
    process.stdout.write(`counting ${opts.count}… `);
    await load(opts.count);
    if (isAsyncServer(name))
      await drainedTo(api.port, opts.warmup + opts.count, agent, DRAIN_TIMEOUT_MS);
    control(vgdbPrefix, pid, ['--dump']);
    control(vgdbPrefix, pid, ['--instr=off']);
    const dumps = fs
      .readdirSync(RESULTS_DIR)
      .filter((f) => f.startsWith(`${path.basename(outFile)}.`))
      .map((f) => path.join(RESULTS_DIR, f));
    if (dumps.length !== 1) throw new Error(`expected one callgrind dump, found ${dumps.length}`);
    fs.renameSync(dumps[0], keptFile);
    const places = splitByPlace(keptFile);
    const total = /^(?:summary|totals):\s+(\d+)/m.exec(fs.readFileSync(keptFile, 'utf8'));
    if (!total || Number(total[1]) === 0) throw new Error(`no instructions counted in ${keptFile}`);
    console.log(`done (${path.relative(ROOT, keptFile)})`);
    return { name, perRequest: Number(total[1]) / opts.count, places };
  } finally {
    await server.stop();
    removeExitDumps();
  }
}

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(path.delimiter).some((dir) => {
    try {
      fs.accessSync(path.join(dir, tool), fs.constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

function thousands(n: number): string {
  return `${Math.round(n / 1000).toLocaleString('en-US')} K`;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  // Valgrind's package: the tool, its control and report scripts, and the gdbserver they talk to
  const missing = ['valgrind', 'callgrind_control', 'callgrind_annotate', 'vgdb'].filter(
    (tool) => !onPath(tool),
  );
  if (missing.length > 0) {
    throw new Error(`${missing.join(', ')} not found (apt-get install -y valgrind)`);
  }
  agent = new http.Agent({ keepAlive: true, maxSockets: opts.connections + 8 });
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  const payload = pushPayload();
  const secret = randomBytes(20).toString('hex');
  console.log(
    `instructions per answer under callgrind: ${opts.warmup} requests of warm-up, then ` +
      `${opts.count} counted, ${opts.connections} connections, node ${process.version}`,
  );
  const counted: Counted[] = [];
  for (const name of opts.only) counted.push(await countOne(name, opts, payload, secret));

  const places = [...new Set(counted.flatMap((c) => [...c.places.keys()]))].sort();
  const width = Math.max(...places.map((p) => p.length), 'instructions per answer'.length);
  const cell = (text: string) => text.padStart(16);
  console.log(`\n${''.padEnd(width)}${counted.map((c) => cell(c.name)).join('')}`);
  console.log(
    `${'instructions per answer'.padEnd(width)}${counted.map((c) => cell(thousands(c.perRequest))).join('')}`,
  );
  for (const place of places) {
    const row = counted.map((c) => cell(thousands((c.places.get(place) ?? 0) / opts.count)));
    console.log(`${('  ' + place).padEnd(width)}${row.join('')}`);
  }
  // V8 still optimizes now and then after the warm-up; how much of it falls in the counted
  // requests varies from run to run (6 K to 163 K per answer for the baseline), so the
  // comparison is also given without it.
  const withoutCompiler = (c: Counted): number =>
    c.perRequest - (c.places.get(COMPILER) ?? 0) / opts.count;
  console.log(
    `${'without the compiler'.padEnd(width)}${counted.map((c) => cell(thousands(withoutCompiler(c)))).join('')}`,
  );
  // each server against the baseline, and a -b build against this one's same server
  console.log('');
  const ratio = (c: Counted, base: Counted): string =>
    `${c.name}/${base.name} instructions per answer: ${(c.perRequest / base.perRequest).toFixed(2)}x, ` +
    `${(withoutCompiler(c) / withoutCompiler(base)).toFixed(2)}x without the compiler`;
  const express = counted.find((c) => c.name === 'express');
  for (const c of counted) {
    if (express && c !== express && c.name !== 'raw') {
      console.log(
        ratio(c, express) +
          (isAsyncServer(c.name) ? ' (one accept and one run of the worker per delivery)' : ''),
      );
    }
    const a = counted.find((other) => `${other.name}-b` === c.name);
    if (a) console.log(ratio(c, a));
  }
  console.log(
    `\nEach server's counted dump is kept: callgrind_annotate <file> lists its functions.`,
  );
  console.log(
    '\nUser space only, every thread of the server. The kernel side of its system calls, and how\n' +
      'fast the machine runs these instructions, are what `npm run bench` adds (docs/performance.md).',
  );
}

runMain(main);
