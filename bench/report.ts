// The bench's printed report: per placement (shared, pinned), a table of medians, the ratios, the
// issue 15 targets, each round, and the notes. bench/README.md explains every column.
import type { Placement } from './pin';
import type { Measured, ServerName } from './measured';

export interface ReportOptions {
  only: ServerName[];
  profile: ServerName[];
  connections: number;
  placements: Placement[];
}

const PLACEMENT_TITLES: Record<Placement, string> = {
  shared: 'shared: load generator, fake flow API and server on every core',
  pinned: 'pinned: load generator and fake flow API on core 0, the server alone on core 1',
};

function fmt(value: number | null | undefined, digits = 0): string {
  return value === undefined || value === null ? '-' : value.toFixed(digits);
}

function pct(value: number | null | undefined): string {
  return value === undefined || value === null ? '-' : `${Math.round(value * 100)}%`;
}

function mb(bytes: number | null | undefined): string {
  return bytes === undefined || bytes === null ? '-' : (bytes / 1024 / 1024).toFixed(0);
}

/**
 * The server's CPU time per answer (sync: per execution too), in ms: what a request costs it,
 * less swayed than req/s by how much of the machine the server got (a busy machine lowers req/s
 * and CPU together). Async: per accepted delivery, the worker's share during the run included.
 */
function cpuPerRequest(r: Measured): string {
  if (r.serverCpu === undefined || r.serverCpu === null || !r.rps) return '-';
  return ((r.serverCpu / r.rps) * 1000).toFixed(2);
}

function table(rows: Measured[]): string {
  const header = [
    'server',
    'req/s',
    'exec/s',
    'drain/s',
    'tail/s',
    'tail ms',
    'p50 ms',
    'p99 ms',
    '2xx',
    'non-2xx',
    'errors',
    'srv CPU',
    'srv ms/req',
    'api CPU',
    'lg CPU',
    'other CPU',
    'RSS MB start/peak/end',
  ];
  const body = rows
    .filter((r) => r.status === 'ok')
    .map((r) => [
      r.name,
      fmt(r.rps),
      fmt(r.execRate),
      r.drainRate === undefined ? '-' : `${fmt(r.drainRate)}${r.drainIncomplete ? '*' : ''}`,
      fmt(r.tailRate),
      r.tailCpuMs === undefined ? '-' : r.tailCpuMs.toFixed(2),
      fmt(r.p50),
      fmt(r.p99),
      fmt(r.ok2xx),
      fmt(r.non2xx),
      r.timeouts ? `${fmt(r.errors)} (${r.timeouts} t/o)` : fmt(r.errors),
      pct(r.serverCpu),
      cpuPerRequest(r),
      pct(r.apiCpu),
      pct(r.loaderCpu),
      pct(r.otherCpu),
      `${mb(r.rssStart)}/${mb(r.rssPeak)}/${mb(r.rssEnd)}`,
    ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((row) => row[i].length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

function okRow(rows: Measured[], name: ServerName): Measured | undefined {
  return rows.find((r) => r.name === name && r.status === 'ok');
}

function ratios(rows: Measured[]): string[] {
  const lines: string[] = [];
  for (const [a, b] of [
    ['flowhook', 'express'],
    ['flowhook-1k', 'express'],
    ['flowhook-1k', 'flowhook'],
    // Issue 12: metrics on (flowhook) against off (flowhook-bare); tracing at 100 % against off.
    ['flowhook', 'flowhook-bare'],
    ['flowhook-traced', 'flowhook'],
    ['flowhook-async', 'flowhook'],
    ['flowhook-pg', 'flowhook'],
    ['flowhook-pg-async', 'flowhook-async'],
    ['flowhook-pg-x2', 'flowhook-pg'],
    ['flowhook-pg-async-x2', 'flowhook-pg-async'],
    ['flowhook', 'raw'],
    ['express', 'raw'],
    ['flowhook', 'flowhook-b'],
    ['flowhook-async', 'flowhook-async-b'],
  ] as [ServerName, ServerName][]) {
    const x = okRow(rows, a);
    const y = okRow(rows, b);
    if (x?.rps && y?.rps && x.p99 !== undefined && y.p99) {
      lines.push(
        `${`${a}/${b}`.padEnd(17)} throughput ${(x.rps / y.rps).toFixed(2)}x   ` +
          `p99 ${(x.p99 / y.p99).toFixed(2)}x`,
      );
    }
  }
  return lines;
}

/** Issue 15's targets, measured against the Express + axios baseline of the same placement. */
function targets(rows: Measured[]): string[] {
  const express = okRow(rows, 'express');
  const sync = okRow(rows, 'flowhook');
  const async = okRow(rows, 'flowhook-async');
  const lines: string[] = [];
  const check = (ok: boolean) => (ok ? 'met' : 'NOT met');
  const base = express?.execRate;
  if (base && sync?.execRate) {
    const ratio = sync.execRate / base;
    lines.push(
      `sync executions/s  ${ratio.toFixed(2)}x express (target >= 0.85x): ${check(ratio >= 0.85)}`,
    );
  }
  if (express?.p99 && sync?.p99 !== undefined) {
    const ratio = sync.p99 / express.p99;
    lines.push(
      `sync p99           ${ratio.toFixed(2)}x express (target <= 1.30x): ${check(ratio <= 1.3)}`,
    );
  }
  if (base && async?.rps) {
    const ratio = async.rps / base;
    lines.push(
      `async accepted/s   ${ratio.toFixed(2)}x express executions/s (target >= 1.50x): ${check(ratio >= 1.5)}`,
    );
  }
  if (base && async?.drainRate) {
    const ratio = async.drainRate / base;
    lines.push(
      `async drain/s      ${ratio.toFixed(2)}x express executions/s (target >= 0.85x): ${check(ratio >= 0.85)}`,
    );
  }
  for (const row of [sync, async]) {
    if (row?.rssPeak) {
      const growth =
        row.rssStart && row.rssEnd ? ` (start ${mb(row.rssStart)}, end ${mb(row.rssEnd)})` : '';
      lines.push(
        `${`${row.name} RSS peak`.padEnd(18)} ${mb(row.rssPeak)} MB${growth} (target < 150 MB): ${check(row.rssPeak < 150 * 1024 * 1024)}`,
      );
    }
  }
  return lines;
}

function notesOf(row: Measured, connections: number): string[] {
  const notes: string[] = [];
  if (row.non2xx) notes.push(`non-2xx answers: ${JSON.stringify(row.statusCodes)}`);
  if (row.pgCommitsPerSec !== undefined) {
    notes.push(
      `PostgreSQL: ${fmt(row.pgCommitsPerSec)} commits/s in its database, ` +
        `${fmt(row.pgSyncsPerSec)} WAL fsyncs/s on the server`,
    );
  }
  if (row.warmupNon2xx) notes.push(`${row.warmupNon2xx} non-2xx answers during warm-up`);
  if (row.mismatches) notes.push(`${row.mismatches} answers without the expected body`);
  if (row.drainIncomplete) notes.push('the drain did not finish in time (drain/s marked *)');
  // Sync only: an async server's executes in the window are the worker's, not the answers'.
  if (row.drainRate === undefined) {
    const missing = (row.ok2xx ?? 0) - (row.executes ?? 0);
    if (missing > 0) {
      notes.push(`${missing} 2xx answers without an execute (deduplicated? dry-run? ignored?)`);
    }
    if ((row.executes ?? 0) - (row.completed ?? 0) > connections) {
      notes.push('more executes than completed requests plus in-flight ones (retries?)');
    }
  }
  if ((row.otherCpu ?? 0) > 0.2) {
    notes.push(
      `other processes used ${pct(row.otherCpu)} of a core during the run: figures are noisy`,
    );
  }
  if (row.note) notes.push(row.note);
  return notes;
}

const LEGEND =
  'req/s = answers per second (async: deliveries accepted); exec/s = executes the fake flow API\n' +
  'answered per second of the run (sync: must match req/s; async: what the worker did meanwhile);\n' +
  'drain/s = async: deliveries accepted in the run / seconds from its first accept to the last\n' +
  'execute; tail/s = the backlog left when the load stopped / seconds to its last execute (the\n' +
  "worker alone); tail ms = the server's CPU ms per delivery executed in that tail (steadier than\n" +
  "tail/s on a busy machine). Latencies have autocannon's 1 ms resolution. CPU = core-seconds per\n" +
  'second (100% = one core busy) of the server, the fake flow API, the load generator (this\n' +
  'process) and everything else on the machine (other: if it is high, the figures are not\n' +
  'comparable; run again).\n' +
  "srv ms/req = the server's CPU ms per answer: its cost per request, steadier than req/s on a\n" +
  'busy machine.\n' +
  'RSS = resident memory of the server at the start and end of the measured run, and its peak.';

/** Prints one placement's table, ratios, targets and notes. */
export function report(rows: Measured[], opts: ReportOptions, placement: Placement): void {
  console.log(`\n== ${PLACEMENT_TITLES[placement]}`);
  if (rows.some((row) => row.status === 'ok')) {
    console.log('');
    console.log(table(rows));
    for (const [title, lines] of [
      ['Ratios (throughput: higher is better; p99: lower is better):', ratios(rows)],
      ['Issue 15 targets:', targets(rows)],
    ] as const) {
      if (lines.length === 0) continue;
      console.log(`\n${title}`);
      for (const line of lines) console.log(`  ${line}`);
    }
  }
  for (const row of rows) {
    if (row.status !== 'ok') {
      console.log(`\n${row.name}: ${row.status.toUpperCase()} — ${row.note ?? ''}`);
      continue;
    }
    const notes = notesOf(row, opts.connections);
    if (notes.length > 0) console.log(`\n${row.name}: ${notes.join('; ')}`);
    if (row.profileSummary) {
      console.log(`\nCPU profile of ${row.name} (${row.profile}):\n${row.profileSummary}`);
    }
  }
  const logs = rows.filter((r) => r.log).map((r) => `${r.name}: ${r.log}`);
  if (logs.length > 0) console.log(`\nServer logs: ${logs.join(', ')}`);
}

/** The legend under every report. */
export function printLegend(opts: ReportOptions): void {
  console.log(`\n${LEGEND}`);
  if (opts.profile.length > 0) {
    console.log(
      'Profiled servers run slower than unprofiled ones; compare ratios without --profile.',
    );
  }
}

/** The median of some numbers (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * A server's rounds as one row: the round with the median req/s, with the medians of req/s,
 * exec/s, drain/s, p50 and p99, and the highest RSS peak of all rounds.
 */
export function medianRow(runs: Measured[]): Measured {
  const ok = runs.filter((r) => r.status === 'ok' && r.rps !== undefined);
  if (ok.length === 0) return runs.find((r) => r.status === 'failed') ?? runs[0];
  const byRps = [...ok].sort((a, b) => (a.rps ?? 0) - (b.rps ?? 0));
  const middle = byRps[Math.floor((byRps.length - 1) / 2)];
  const m = (key: 'rps' | 'p50' | 'p99' | 'execRate') => median(ok.map((r) => r[key] ?? 0));
  const drains = ok.flatMap((r) => (r.drainRate === undefined ? [] : [r.drainRate]));
  const tails = ok.flatMap((r) => (r.tailRate === undefined ? [] : [r.tailRate]));
  const tailCpus = ok.flatMap((r) => (r.tailCpuMs === undefined ? [] : [r.tailCpuMs]));
  const peaks = ok.flatMap((r) => (typeof r.rssPeak === 'number' ? [r.rssPeak] : []));
  return {
    ...middle,
    rps: m('rps'),
    execRate: m('execRate'),
    p50: m('p50'),
    p99: m('p99'),
    ...(drains.length > 0 ? { drainRate: median(drains) } : {}),
    ...(tails.length > 0 ? { tailRate: median(tails) } : {}),
    ...(tailCpus.length > 0 ? { tailCpuMs: median(tailCpus) } : {}),
    ...(peaks.length > 0 ? { rssPeak: Math.max(...peaks) } : {}),
  };
}

/** Below this share of its best reading in the bench, a core counts as slow (see core-speed.ts). */
const SLOW_CORE = 0.9;

/** Each core's best reading over every run of the bench (both placements). */
export function bestCoreSpeeds(all: readonly Measured[]): Map<number, number> {
  const best = new Map<number, number>();
  for (const run of all) {
    const speed = run.coreSpeed;
    if (!speed) continue;
    speed.cores.forEach((core, i) => {
      const read = Math.max(speed.before[i], speed.after[i]);
      best.set(core, Math.max(best.get(core) ?? 0, read));
    });
  }
  return best;
}

/**
 * How fast the slowest of a run's cores was, before or after it, as a share of that core's best
 * reading in the bench; undefined when its cores were not read.
 */
export function coreShare(run: Measured, best: ReadonlyMap<number, number>): number | undefined {
  const speed = run.coreSpeed;
  if (!speed) return undefined;
  let share = Infinity;
  speed.cores.forEach((core, i) => {
    const top = best.get(core);
    if (top) share = Math.min(share, speed.before[i] / top, speed.after[i] / top);
  });
  return Number.isFinite(share) ? share : undefined;
}

/**
 * Every round of one placement: req/s, p99 (and drain/s), the core's speed, then flowhook/express
 * per round, and again over the rounds in which neither ran on a slow core.
 */
export function printRounds(all: Measured[], opts: ReportOptions, placement: Placement): void {
  const best = bestCoreSpeeds(all);
  console.log(
    `\nEach round, ${placement} (req/s, p99 ms, srv ms/req; async: drain/s, tail ms; core: ` +
      `the server's slowest core before or after the run, of its best in this bench):`,
  );
  const of = (name: ServerName) =>
    all.filter((r) => r.name === name && r.placement === placement && r.status === 'ok');
  const core = (r: Measured) => {
    const share = coreShare(r, best);
    return share === undefined ? '' : `; core ${pct(share)}${share < SLOW_CORE ? ' SLOW' : ''}`;
  };
  for (const name of opts.only) {
    const cells = of(name).map(
      (r) =>
        `${fmt(r.rps)} (${fmt(r.p99)}, ${cpuPerRequest(r)}${r.drainRate === undefined ? '' : `; ${fmt(r.drainRate)}`}${r.tailCpuMs === undefined ? '' : `, ${r.tailCpuMs.toFixed(2)}`}${core(r)})`,
    );
    console.log(`  ${name.padEnd(14)} ${cells.join('  ')}`);
  }
  const ex = of('express');
  const full = (r: Measured) => (coreShare(r, best) ?? 1) >= SLOW_CORE;
  let flagged = false;
  for (const [name, label, value] of [
    ['flowhook', 'flowhook/express executions/s', (r: Measured) => r.execRate],
    ['flowhook-async', 'flowhook-async accepted/s / express executions/s', (r: Measured) => r.rps],
    [
      'flowhook-async',
      'flowhook-async drain/s / express executions/s',
      (r: Measured) => r.drainRate,
    ],
  ] as const) {
    // Each run against express's of the same round: a round that failed for one of them is left
    // out, not paired with the next one.
    const pairs = of(name).flatMap((r) => {
      const base = r.round === undefined ? undefined : ex.find((e) => e.round === r.round);
      return base ? [{ run: r, base }] : [];
    });
    if (pairs.length === 0) continue;
    const ratio = (i: number) => (value(pairs[i].run) ?? 0) / (pairs[i].base.execRate ?? 1);
    const fullSpeed = pairs.flatMap((p, i) => (full(p.run) && full(p.base) ? [i] : []));
    const perRound = pairs.map(
      (_, i) => `${ratio(i).toFixed(2)}${fullSpeed.includes(i) ? '' : '*'}`,
    );
    const others =
      fullSpeed.length === pairs.length
        ? ''
        : fullSpeed.length > 0
          ? `; without the rounds marked *: ${median(fullSpeed.map(ratio)).toFixed(2)}x (median of ${fullSpeed.length})`
          : '; no round had both at full speed';
    flagged ||= fullSpeed.length < pairs.length;
    console.log(`  ${label} per round: ${perRound.join('  ')}${others}`);
  }
  if (flagged) {
    console.log(
      `  * one of the two runs had a slow core (below ${pct(SLOW_CORE)} of its best) before or after it`,
    );
  }
}
