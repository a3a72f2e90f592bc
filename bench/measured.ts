// What one measured run of one server found, as bench/run.ts records it and bench/report.ts
// prints it.
import type { Placement } from './pin';

export const SERVER_NAMES = [
  'raw',
  'express',
  'flowhook',
  'flowhook-1k',
  'flowhook-bare',
  'flowhook-traced',
  'flowhook-async',
  'flowhook-pg',
  'flowhook-pg-async',
  'flowhook-pg-x2',
  'flowhook-pg-async-x2',
  'flowhook-b',
  'flowhook-async-b',
] as const;
export type ServerName = (typeof SERVER_NAMES)[number];

export interface Measured {
  name: ServerName;
  placement: Placement;
  /** The round it ran in (1…BENCH_ROUNDS): a server's run is compared with express's of the same. */
  round?: number;
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
  /** Executes the fake flow API answered per second of the measured run (sync: = req/s). */
  execRate?: number;
  /**
   * Async: the answers accepted in the measured run, executed from its first accept to the last
   * execute at the fake flow API (the worker's drain, the load's tail included), per second.
   */
  drainRate?: number;
  drainSeconds?: number;
  /** Async: the backlog left when the load stopped, executed per second from then on (the worker alone). */
  tailRate?: number;
  /**
   * Async: the server's CPU ms per delivery executed in the tail (the worker alone: claim, limits,
   * call, outcome), steadier than tail/s on a busy machine.
   */
  tailCpuMs?: number;
  /** The drain did not finish within its bound: drainRate counts what was executed by then. */
  drainIncomplete?: boolean;
  /** Resident memory of the server(s), bytes: at the start and end of the measured run, and the peak. */
  rssStart?: number | null;
  rssEnd?: number | null;
  rssPeak?: number | null;
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
  /**
   * The speed of the cores the server ran on (pinned: core 1; shared: every core), read with
   * nothing of the bench on them just before the server started and just after it stopped
   * (bench/core-speed.ts: pieces of fixed work per CPU ms). Absent when they could not be read.
   */
  coreSpeed?: { cores: number[]; before: number[]; after: number[] };
}
