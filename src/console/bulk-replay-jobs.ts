import { randomUUID } from 'node:crypto';
import type { DeliveryFilter, DeliveryStore } from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { Logger } from '../logger';
import type { ReplayOutcome } from '../pipeline/replay-delivery';

/** The filter of a bulk replay: the list's filter without paging. */
export type BulkFilter = Omit<DeliveryFilter, 'limit' | 'cursor'>;

export interface BulkReplayJob {
  readonly id: string;
  state: 'collecting' | 'running' | 'finished' | 'cancelled';
  readonly filter: BulkFilter;
  readonly startedAt: string;
  finishedAt: string | null;
  /** Deliveries the filter matched when the job started. */
  total: number;
  /** Replayed, skipped or refused so far. */
  done: number;
  succeeded: number;
  failed: number;
  /** Replayed, failed in a way that may pass: left to the worker's retries (or dead). */
  queued: number;
  dead: number;
  /** Running when their turn came (a sync request, the worker or another replay held them). */
  skipped: number;
  /** Refused by the current mapping (no route matched, source gone, variables missing, …). */
  refused: number;
  /** The first refusals, so the cause shows. */
  readonly problems: { deliveryId: string; code: string; message: string }[];
}

export interface BulkReplayJobs {
  start(filter: BulkFilter): BulkReplayJob;
  get(id: string): BulkReplayJob | undefined;
  list(): BulkReplayJob[];
  cancel(id: string): BulkReplayJob | undefined;
  /** Cancels every job and waits for the replays in flight. */
  stop(): Promise<void>;
}

/** The most deliveries one job replays; a larger selection is refused (narrow the filter). */
export const MAX_BULK = 10_000;
const KEPT_JOBS = 20;
const KEPT_PROBLEMS = 20;
const PAGE = 500;

/**
 * Bulk replay as background jobs of this process: the ids the filter matches are collected first
 * (every page, not only what a screen shows), then each delivery is replayed in turn through the
 * current mappings, as a new attempt of its own (replayDelivery). A delivery that is running when
 * its turn comes is skipped and counted; a refusal is counted with its reason. Cancel stops before
 * the next delivery. Jobs live in memory: the last KEPT_JOBS are kept for their figures.
 */
export function createBulkReplayJobs(
  store: DeliveryStore,
  replay: (id: string) => Promise<ReplayOutcome>,
  logger: Logger,
  concurrency = 2,
): BulkReplayJobs {
  const jobs = new Map<string, BulkReplayJob>();
  const running = new Set<Promise<void>>();

  const run = async (job: BulkReplayJob) => {
    const ids: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await store.list({ ...job.filter, limit: PAGE, cursor });
      ids.push(...page.items.map((r) => r.id));
      cursor = page.nextCursor ?? undefined;
      if (ids.length > MAX_BULK) {
        throw new FlowhookError(
          'invalid_request',
          `the filter matches more than ${MAX_BULK} deliveries; narrow it`,
        );
      }
    } while (cursor !== undefined && !isCancelled(job));
    job.total = ids.length;
    if (!isCancelled(job)) job.state = 'running';
    // Oldest first: the order they were received in.
    ids.reverse();
    let next = 0;
    const worker = async () => {
      while (next < ids.length && !isCancelled(job)) {
        const id = ids[next++];
        await replayOne(job, id);
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, ids.length) }, worker));
  };

  const replayOne = async (job: BulkReplayJob, id: string) => {
    try {
      const outcome = await replay(id);
      const state = outcome.record.state;
      if (state === 'succeeded') job.succeeded++;
      else if (state === 'queued') job.queued++;
      else if (state === 'dead') job.dead++;
      else job.failed++;
    } catch (error) {
      if (!(error instanceof FlowhookError)) throw error;
      if (error.code === 'delivery_running') job.skipped++;
      else {
        job.refused++;
        if (job.problems.length < KEPT_PROBLEMS) {
          job.problems.push({ deliveryId: id, code: error.code, message: error.message });
        }
      }
    }
    job.done++;
  };

  const isCancelled = (job: BulkReplayJob) => job.state === 'cancelled';

  return {
    start(filter) {
      const job: BulkReplayJob = {
        id: randomUUID(),
        state: 'collecting',
        filter,
        startedAt: new Date().toISOString(),
        finishedAt: null,
        total: 0,
        done: 0,
        succeeded: 0,
        failed: 0,
        queued: 0,
        dead: 0,
        skipped: 0,
        refused: 0,
        problems: [],
      };
      jobs.set(job.id, job);
      for (const old of [...jobs.keys()].slice(0, Math.max(0, jobs.size - KEPT_JOBS))) {
        if (jobs.get(old)?.finishedAt !== null) jobs.delete(old);
      }
      logger.info({ job: job.id, filter }, 'bulk replay started');
      const done = run(job)
        .catch((error: unknown) => {
          const known = error instanceof FlowhookError;
          if (!known) logger.error({ err: error, job: job.id }, 'bulk replay stopped by an error');
          job.problems.push({
            deliveryId: '',
            code: known ? error.code : 'internal',
            message: known ? error.message : 'the job stopped on an unexpected error',
          });
        })
        .finally(() => {
          if (job.state !== 'cancelled') job.state = 'finished';
          job.finishedAt = new Date().toISOString();
          logger.info(
            { job: job.id, ...counts(job) },
            job.state === 'cancelled' ? 'bulk replay cancelled' : 'bulk replay finished',
          );
          running.delete(done);
        });
      running.add(done);
      return job;
    },
    get: (id) => jobs.get(id),
    list: () => [...jobs.values()].reverse(),
    cancel(id) {
      const job = jobs.get(id);
      if (job !== undefined && job.finishedAt === null) job.state = 'cancelled';
      return job;
    },
    async stop() {
      for (const job of jobs.values()) if (job.finishedAt === null) job.state = 'cancelled';
      await Promise.all([...running]);
    },
  };
}

function counts(job: BulkReplayJob) {
  const { total, done, succeeded, failed, queued, dead, skipped, refused } = job;
  return { total, done, succeeded, failed, queued, dead, skipped, refused };
}
