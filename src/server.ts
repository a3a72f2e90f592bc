import http, { type Server } from 'node:http';
import { loadConfig, type Config } from './config';
import { createFlowClient, type FlowClient } from './flows/create-flow-client';
import { createBackgroundWork } from './background-work';
import { createApp, type AppStops } from './http/create-app';
import { createLogger, type Logger } from './logger';
import { createDeliveryWorker } from './deliveries/delivery-worker';
import { createLeases } from './deliveries/lease';
import { retryPolicyFrom } from './deliveries/retry-policy';
import { openStore } from './deliveries/open-store';
import type { DeliveryStore } from './deliveries/types';
import { createDryRunClient } from './flows/create-dry-run-client';
import { createMappingRegistry } from './mappings/watch-mappings';
import { logProblems } from './mappings/log-problems';
import { mappingProblems } from './mappings/mapping-problems';
import type { MappingSet } from './mappings/types';
import { createLateAnswers } from './responses/create-late-answers';
import { createFlowLimiter } from './limits/create-flow-limiter';
import { limitClaims } from './limits/limit-claims';
import { observeCalls } from './limits/observe-calls';
import { openLimitsStore } from './limits/open-limits-store';
import type { LimitsStore } from './limits/types';
import { instrumentedStore } from './observability/instrumented-store';
import { NO_METRICS, createMetrics } from './observability/metrics';
import { startTracing } from './observability/tracing';
import { currentSecrets } from './redact/current-secrets';

export interface RunningServer {
  readonly server: Server;
  readonly port: number;
  readonly logger: Logger;
  close(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Reads the config, loads the mappings, and listens. Throws ConfigError or MappingsDirError (the
 * CLI prints their one line and exits 1) before anything listens.
 */
export async function startServer(env: Env = process.env, logger?: Logger): Promise<RunningServer> {
  const config = loadConfig(env);
  const log = logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  // Before anything is traced; off (and free) unless an OTLP endpoint is configured.
  const tracing = startTracing(config.tracing);
  if (config.tracing) {
    log.info(
      {
        url: config.tracing.url,
        protocol: config.tracing.protocol,
        sampler: config.tracing.sampler.name,
      },
      'tracing on: spans are exported over OTLP',
    );
  }
  // One registry for the app, the worker and the limiter (/metrics); METRICS=off counts nothing.
  const metrics = config.metrics ? createMetrics() : NO_METRICS;
  const registry = createMappingRegistry(config.mappingsDir, env, log);
  const mappings = registry.current();
  reportStart(log, config, mappings);
  if (config.mappingsWatch !== 'off') {
    await registry.watch({ usePolling: config.mappingsWatch === 'poll' });
    log.info(
      { mode: config.mappingsWatch },
      'watching the mappings folder: edits apply without a restart',
    );
  }

  const opened = await openStore(config, log);
  const store = instrumentedStore(opened, metrics);
  log.info(
    {
      ...(await store.status()),
      ...(await store.counts()),
    },
    'delivery store open',
  );
  // Budgets, circuits and pauses live next to the deliveries: in the PostgreSQL database (on the
  // store's pool) shared by every instance, or in the SQLite file in DATA_DIR (docs/limits.md).
  const limitsStore = openLimitsStore(config, opened);
  const limiter = createFlowLimiter({
    store: limitsStore,
    mappings: registry.current,
    defaultOrgId: config.flowOrgId,
    platform: {
      ...(config.flowMaxConcurrency === undefined
        ? {}
        : { concurrency: config.flowMaxConcurrency }),
      ...(config.flowRate === undefined ? {} : { rate: config.flowRate }),
    },
    circuit: config.circuit,
    logger: log,
    metrics,
  });
  // Every call, sync or by the worker, tells the limiter how its flow is doing (circuit, 429).
  const flowClient: FlowClient | undefined = config.dryRun
    ? undefined
    : observeCalls(
        createFlowClient({
          baseUrl: config.flowBaseUrl as string,
          token: config.flowApiToken as string,
          timeoutMs: config.flowTimeoutMs,
        }),
        limiter,
      );
  // One lease length and one holder counter for the worker, the hook route and the admin API.
  const leases = createLeases({ flowTimeoutMs: config.flowTimeoutMs });
  const policy = retryPolicyFrom(config);
  // One sender of late answers (respond: slack) for the hook route and the worker.
  const lateAnswers = createLateAnswers({
    store,
    mappings: registry.current,
    allow: config.responseUrlAllow,
    logger: log,
    now: Date.now,
  });
  const worker = createDeliveryWorker({
    // The worker claims only deliveries whose flows have room; the others wait in the queue.
    store: limitClaims(store, limiter, { wake: () => worker.notify() }),
    client: flowClient ?? createDryRunClient(log),
    policy,
    logger: log,
    concurrency: config.workerConcurrency,
    pollMs: 250,
    leases,
    onFinished: lateAnswers.deliver,
    metrics,
    secrets: currentSecrets(registry.current, config.flowApiToken),
  });
  // Deliveries queued or running when the last process stopped are picked up from here.
  worker.start();
  // Deliveries queued by any instance sharing the store wake this worker at once (PostgreSQL).
  const unwatch = store.watchQueued?.(worker.notify);
  const pruner = startPruning(store, config.retentionMs, log);
  const background = createBackgroundWork();
  const app = createApp({
    background,
    config,
    logger: log,
    mappings: registry.current,
    flowClient,
    store,
    limiter,
    leases,
    onQueued: worker.notify,
    lateAnswers,
    env,
    metrics,
  });
  // The timeouts are given at construction: Node checks them every connectionsCheckingInterval
  // (30 s by default), which is why slow senders lived 46–53 s instead of 20 s (issue 9, item 5).
  const server = http.createServer(
    {
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      connectionsCheckingInterval: checkingInterval(config),
    },
    app,
  );
  // Past the cap Node closes new connections at once, so slow sockets cannot take every file
  // descriptor (the store and the execute calls need some).
  server.maxConnections = config.maxConnections;
  server.on('drop', connectionLimitLog(log, config.maxConnections));
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('listening', resolve);
      server.once('error', reject);
      server.listen(config.port, config.host);
    });
  } catch (error) {
    // Nothing listens: close what was opened for it, so a caller that goes on (or a test) does
    // not keep a worker claiming deliveries, a watcher and the store open (issue 9, item 16).
    pruner.stop();
    await worker.stop(0);
    await registry.close().catch(() => undefined);
    flowClient?.close();
    await closeStores(store, limitsStore).catch(() => undefined);
    await tracing.shutdown();
    throw error;
  }
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  log.info({ host: config.host, port }, `listening on http://${config.host}:${port}`);

  return {
    server,
    port,
    logger: log,
    close: () =>
      new Promise<void>((resolve) => {
        // close() stops accepting and waits for every connection to end. A keep-alive connection
        // whose last request finishes after this point goes idle but stays open, so keep closing
        // idle ones until the server is done.
        const sweep = setInterval(() => server.closeIdleConnections(), 50);
        pruner.stop();
        unwatch?.();
        // Live console streams would hold the server open; bulk replays stop between deliveries.
        const appStopped = (app.locals.stops as AppStops | undefined)?.stop() ?? Promise.resolve();
        // The worker stops claiming at once; what it runs finishes within the grace (or keeps its
        // lease and resumes after a restart); queued deliveries stay queued in the store.
        const workerStopped = worker.stop(SHUTDOWN_WORKER_GRACE_MS);
        const graceEnds = Date.now() + SHUTDOWN_WORKER_GRACE_MS;
        server.close(() => {
          clearInterval(sweep);
          // Only now: every request has been answered, so every sync run that outlived its
          // answer is tracked (one that passed replyWithin after close() began was missed when
          // this was taken at the start, and the store closed under it: issue 9, item 11).
          const lateRunsDone = background.drain(Math.max(0, graceEnds - Date.now()));
          void Promise.all([workerStopped, lateRunsDone, appStopped])
            .then(() => registry.close())
            .catch((error: unknown) =>
              log.error({ err: error }, 'stopping the mappings watcher failed'),
            )
            .then(() => {
              flowClient?.close();
              return closeStores(store, limitsStore);
            })
            .catch((error: unknown) =>
              log.error({ err: error }, 'closing the delivery store failed'),
            )
            // Last: the spans of everything above are sent before the process goes.
            .then(() => tracing.shutdown())
            .finally(resolve);
        });
        server.closeIdleConnections();
      }),
  };
}

/**
 * The limits store first: its last turn's reads and writes go to the delivery store's connection
 * (SQLite) or pool (PostgreSQL), which the delivery store's close then commits and closes.
 */
async function closeStores(store: DeliveryStore, limitsStore: LimitsStore): Promise<void> {
  try {
    await limitsStore.close();
  } finally {
    await store.close();
  }
}

/**
 * How often Node looks for connections past their timeouts: every second, or a tenth of the
 * shortest timeout when that is shorter, so each is enforced within a second of its value.
 */
function checkingInterval(config: Config): number {
  const shortest = Math.min(config.headersTimeoutMs, config.requestTimeoutMs);
  return Math.max(10, Math.min(1000, Math.floor(shortest / 10)));
}

/** One warning when the cap is reached, then at most one every 10 s with how many were closed. */
function connectionLimitLog(log: Logger, maxConnections: number): () => void {
  let dropped = 0;
  let quietUntil = 0;
  return () => {
    dropped += 1;
    const now = Date.now();
    if (now < quietUntil) return;
    quietUntil = now + 10_000;
    log.warn(
      { maxConnections, dropped },
      `connection limit reached (MAX_CONNECTIONS=${maxConnections}): new connections are closed`,
    );
    dropped = 0;
  };
}

/** How long a stop waits for deliveries the worker is running (the rest resume on restart). */
const SHUTDOWN_WORKER_GRACE_MS = 8000;

/** Deletes finished deliveries past the retention, a batch at a time, so requests never wait on it. */
function startPruning(
  store: DeliveryStore,
  retentionMs: number,
  log: Logger,
): { stop: () => void } {
  let pruning = false;
  let stopped = false;
  const prune = async () => {
    if (pruning || stopped) return;
    pruning = true;
    try {
      let removed = 0;
      for (let batch = 0; batch < 20 && !stopped; batch++) {
        const count = await store.prune(Date.now() - retentionMs, 500);
        removed += count;
        if (count < 500) break;
      }
      if (removed > 0) log.info({ removed }, 'old deliveries pruned');
    } catch (error) {
      log.error({ err: error }, 'pruning deliveries failed');
    } finally {
      pruning = false;
    }
  };
  void prune();
  const timer = setInterval(() => void prune(), 60_000).unref();
  return {
    stop: () => {
      stopped = true;
      clearInterval(timer);
    },
  };
}

function reportStart(log: Logger, config: Config, mappings: MappingSet): void {
  log.info({ mappingsDir: config.mappingsDir }, 'flowhook starting');
  if (config.dryRun) {
    log.warn(
      'dry-run mode: FLOW_BASE_URL is not set, so no flow is executed; each answer shows the execute request that would have been sent',
    );
  } else {
    log.info({ flowBaseUrl: config.flowBaseUrl }, 'flows are executed through the flow API');
  }
  for (const source of mappings.disabled.values()) {
    if (source.cause !== 'missing-env') continue; // invalid files are reported just below
    log.warn(
      { source: source.name, files: source.files },
      `source "${source.name}" ${source.reason}`,
    );
  }
  logProblems(log, mappingProblems(mappings));
  for (const problem of mappings.warnings) log.warn({ file: problem.file }, problem.message);
  log.info(
    { sources: [...mappings.sources.keys()] },
    `${mappings.sources.size} source(s) ready, ${mappings.disabled.size} disabled`,
  );
}
