import path from 'node:path';
import type { Registry } from 'prom-client';
import type { DeliveryState, DeliveryStore } from '../deliveries/types';
import type { LimitsStore } from '../limits/types';
import type { MappingSet } from '../mappings/types';
import { cachedRead } from './cached-read';
import { CIRCUIT_VALUES, gauge } from './metrics';
import { flowLabel } from './flow-label';

export interface ScrapeSources {
  readonly store: DeliveryStore;
  readonly mappings: () => MappingSet;
  /** The circuits (issue 14's limits store); none = no circuit gauge. */
  readonly limits?: LimitsStore;
  readonly now?: () => number;
}

/** The queue states the depth gauge reports (the others are final and only grow). */
const QUEUE_STATES: readonly DeliveryState[] = ['queued', 'running', 'dead'];
/** A scrape waits this long for the store, then reports what it last knew. */
const STORE_TIMEOUT_MS = 1000;
/** Scrapes closer together than this share one store query. */
const STORE_MAX_AGE_MS = 1000;

/**
 * The gauges that are read when Prometheus scrapes rather than kept up to date by the request
 * path: the queue (from the store: with PostgreSQL, the queue shared by every instance), the
 * mappings as loaded now, the circuits, and whether this instance is ready.
 */
export function registerScrapeGauges(registry: Registry, sources: ScrapeSources): void {
  const now = sources.now ?? Date.now;
  const queue = cachedRead(
    async () => {
      const at = now();
      const [counts, oldest] = await Promise.all([
        sources.store.counts(),
        sources.store.oldestDueAt(at),
      ]);
      return { counts, ageSeconds: oldest === null ? 0 : Math.max(0, at - oldest) / 1000 };
    },
    { maxAgeMs: STORE_MAX_AGE_MS, timeoutMs: STORE_TIMEOUT_MS, now },
  );
  gauge(
    registry,
    'flowhook_queue_depth',
    'Deliveries in the store by queue state (with PostgreSQL: the queue every instance shares).',
    ['state'],
    async (g) => {
      const { value } = await queue();
      for (const state of QUEUE_STATES) {
        if (value !== undefined) g.set({ state }, value.counts[state] ?? 0);
      }
    },
  );
  gauge(
    registry,
    'flowhook_queue_oldest_age_seconds',
    'Age of the oldest delivery that is due and not claimed (0 when none): the backlog.',
    [],
    async (g) => {
      const { value } = await queue();
      if (value !== undefined) g.set(value.ageSeconds);
    },
  );
  gauge(
    registry,
    'flowhook_ready',
    '1 when this instance can accept deliveries (its store answers), 0 otherwise.',
    [],
    async (g) => {
      const { ok } = await queue();
      g.set(ok ? 1 : 0);
    },
  );
  gauge(
    registry,
    'flowhook_mappings_loaded',
    'Sources loaded from the mapping files and serving.',
    [],
    (g) => g.set(sources.mappings().sources.size),
  );
  gauge(
    registry,
    'flowhook_mapping_errors',
    'Load errors of the mapping files, by source (a disabled source counts at least one).',
    ['source'],
    (g) => {
      g.reset();
      for (const [source, n] of mappingErrors(sources.mappings())) g.set({ source }, n);
    },
  );
  gauge(
    registry,
    'flowhook_mappings_reload_timestamp_seconds',
    'When the mapping files were last loaded (Unix time).',
    [],
    (g) => {
      const loadedAt = sources.mappings().loadedAt;
      if (loadedAt !== undefined) g.set(loadedAt / 1000);
    },
  );
  const limits = sources.limits;
  if (limits !== undefined) {
    const circuits = cachedRead(() => limits.flows(now()), {
      maxAgeMs: STORE_MAX_AGE_MS,
      timeoutMs: STORE_TIMEOUT_MS,
      now,
    });
    gauge(
      registry,
      'flowhook_circuit_state',
      "Each flow's circuit breaker: 0 closed, 1 half-open, 2 open.",
      ['flow'],
      async (g) => {
        const { value } = await circuits();
        if (value === undefined) return;
        g.reset();
        for (const view of value) {
          const flow = flowLabel(view.flow);
          if (flow !== undefined) g.set({ flow }, CIRCUIT_VALUES[view.circuit]);
        }
      },
    );
  }
}

/**
 * Errors per source name: a file's problems count for the source it declares (or, when it could
 * not be read that far, for the source its file name would give).
 */
function mappingErrors(set: MappingSet): Map<string, number> {
  const sourceOf = new Map<string, string>();
  for (const source of set.sources.values()) sourceOf.set(source.file, source.name);
  for (const source of set.disabled.values()) {
    for (const file of source.files) sourceOf.set(file, source.name);
  }
  const counts = new Map<string, number>();
  for (const problem of set.errors) {
    const source =
      sourceOf.get(problem.file) ?? path.basename(problem.file, path.extname(problem.file));
    counts.set(source, (counts.get(source) ?? 0) + 1);
  }
  for (const source of set.disabled.values()) {
    if (!counts.has(source.name)) counts.set(source.name, 1);
  }
  return counts;
}
