// How fast each server answers in each second of its life, from its start (issue 15): what a
// measured run of `npm run bench` sees depends on how far the server has warmed up by then (V8
// optimizes the hot code while the first thousands of requests run, on the same core when the
// server is pinned). Each server is started fresh, loaded at once, and its answers and CPU time
// are read every second; rounds are interleaved (express, flowhook, express, flowhook, …).
//
//   node dist/bench/warm-up.js [--only express,flowhook] [--seconds 20] [--rounds 3]
//                              [--connections 32] [--shared]
//
// Printed per server: the median over rounds of each second's answers per second and server CPU
// ms per answer, the plateau (the median of the last 5 seconds), and what a run of `npm run
// bench` with a warm-up of W seconds and a measured run of D seconds would see of it (seconds
// W+1 to W+D), for the default W=2 and D=6 and for W=10.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import {
  RESULTS_DIR,
  cpuSeconds,
  loadPushes,
  pushSignature,
  parseRunnerArgs,
  runMain,
  pushPayload,
  startCountedServer,
} from './children';
import { median } from './report';
import { canPin, placeLoadGenerator, serverCommand, type Placement } from './pin';

const SERVERS = ['raw', 'express', 'flowhook', 'flowhook-async'] as const;
type ServerName = (typeof SERVERS)[number];

interface Options {
  only: ServerName[];
  seconds: number;
  rounds: number;
  connections: number;
  placement: Placement;
}

/** The plateau: the median of this many last seconds. */
const PLATEAU_SECONDS = 5;

function parseArgs(argv: readonly string[]): Options {
  const options = parseRunnerArgs(
    argv,
    SERVERS,
    {
      only: ['express', 'flowhook'] as ServerName[],
      seconds: 20,
      rounds: 3,
      connections: 32,
      placement: (canPin() ? 'pinned' : 'shared') as Placement,
    },
    ['seconds', 'rounds', 'connections'],
    { '--shared': (o) => (o.placement = 'shared') },
  );
  if (options.seconds < 16) throw new Error('--seconds must be at least 16 (W=10 and D=6)');
  return options;
}

/** Each second of one server's life under load: answers, and the server's CPU seconds. */
interface Second {
  answers: number;
  cpu: number;
}

async function curveOf(
  name: ServerName,
  opts: Options,
  payload: Buffer,
  secret: string,
): Promise<Second[]> {
  const server = await startCountedServer({
    runner: 'warm-up',
    name,
    secret,
    compare: undefined,
    command: (args) => serverCommand(opts.placement, args),
  });
  try {
    const signature = pushSignature(payload, secret);
    const seconds: Second[] = [];
    let cpuBefore = cpuSeconds(server.child.pid) ?? 0;
    const result = await loadPushes({
      port: server.port,
      connections: opts.connections,
      seconds: opts.seconds,
      payload,
      signature,
      onTick: (answers) => {
        const cpu = cpuSeconds(server.child.pid) ?? 0;
        seconds.push({ answers, cpu: cpu - cpuBefore });
        cpuBefore = cpu;
      },
    });
    if (result.non2xx > 0 || result.errors > 0) {
      throw new Error(`${name}: ${result.non2xx} answers not 2xx, ${result.errors} errors`);
    }
    return seconds.slice(0, opts.seconds);
  } finally {
    await server.stop();
  }
}

/** The mean rate over seconds from+1 … from+length of a curve (a bench run's measured window). */
function windowRate(rates: readonly number[], from: number, length: number): number {
  const window = rates.slice(from, from + length);
  return window.reduce((sum, r) => sum + r, 0) / window.length;
}

async function main(): Promise<void> {
  const opts = parseArgs(process.argv.slice(2));
  fs.mkdirSync(RESULTS_DIR, { recursive: true });
  if (opts.placement === 'pinned') placeLoadGenerator('pinned');
  const payload = pushPayload();
  const secret = randomBytes(20).toString('hex');
  console.log(
    `each second from a server's start under load: ${opts.seconds} s, ${opts.rounds} rounds, ` +
      `${opts.connections} connections, ${opts.placement}, node ${process.version}`,
  );
  const curves = new Map<ServerName, Second[][]>(opts.only.map((name) => [name, []]));
  for (let round = 1; round <= opts.rounds; round += 1) {
    for (const name of opts.only) {
      process.stdout.write(`round ${round}, ${name}… `);
      const curve = await curveOf(name, opts, payload, secret);
      curves.get(name)?.push(curve);
      console.log(curve.map((s) => s.answers).join(' '));
    }
  }

  const rows: string[] = [];
  const plateaus = new Map<ServerName, number>();
  const windows = new Map<ServerName, { w2: number; w10: number }>();
  for (const [name, runs] of curves) {
    const rates = Array.from({ length: opts.seconds }, (_, s) =>
      median(runs.map((run) => run[s]?.answers ?? 0)),
    );
    const ms = Array.from({ length: opts.seconds }, (_, s) =>
      median(runs.map((run) => (run[s] ? (run[s].cpu * 1000) / Math.max(1, run[s].answers) : 0))),
    );
    const plateau = median(rates.slice(-PLATEAU_SECONDS));
    plateaus.set(name, plateau);
    windows.set(name, { w2: windowRate(rates, 2, 6), w10: windowRate(rates, 10, 6) });
    rows.push(`${name.padEnd(16)}${rates.map((r) => String(Math.round(r)).padStart(6)).join('')}`);
    rows.push(`${'  CPU ms/answer'.padEnd(16)}${ms.map((m) => m.toFixed(2).padStart(6)).join('')}`);
  }
  console.log(
    `\nmedian of ${opts.rounds} rounds, answers per second in each second from the start:\n` +
      `${'second'.padEnd(16)}${Array.from({ length: opts.seconds }, (_, s) => String(s + 1).padStart(6)).join('')}\n` +
      rows.join('\n'),
  );
  console.log(`\nplateau (median of the last ${PLATEAU_SECONDS} s) and what a run would measure:`);
  for (const name of opts.only) {
    const plateau = plateaus.get(name) as number;
    const { w2, w10 } = windows.get(name) as { w2: number; w10: number };
    console.log(
      `  ${name.padEnd(16)} plateau ${Math.round(plateau)}/s; seconds 3-8 (warm-up 2 s) ` +
        `${Math.round(w2)}/s = ${((100 * w2) / plateau).toFixed(0)}% of it; seconds 11-16 ` +
        `(warm-up 10 s) ${Math.round(w10)}/s = ${((100 * w10) / plateau).toFixed(0)}%`,
    );
  }
  const express = windows.get('express');
  if (express) {
    for (const name of opts.only.filter((n) => n !== 'express' && n !== 'raw')) {
      const w = windows.get(name) as { w2: number; w10: number };
      console.log(
        `  ${name}/express: ${(w.w2 / express.w2).toFixed(2)}x in seconds 3-8, ` +
          `${(w.w10 / express.w10).toFixed(2)}x in seconds 11-16, ` +
          `${((plateaus.get(name) as number) / (plateaus.get('express') as number)).toFixed(2)}x at the plateau`,
      );
    }
  }
}

runMain(main);
