import express, { type Express } from 'express';
import { createBackgroundWork, type BackgroundWork } from '../background-work';
import type { Config } from '../config';
import { createLeases, type Leases } from '../deliveries/lease';
import { retryPolicyFrom } from '../deliveries/retry-policy';
import type { DeliveryStore } from '../deliveries/types';
import type { FlowClient } from '../flows/create-flow-client';
import type { FlowLimiter } from '../limits/create-flow-limiter';
import type { Logger } from '../logger';
import type { MappingSet } from '../mappings/types';
import { instrumentedStore } from '../observability/instrumented-store';
import { NO_METRICS, createMetrics, type Metrics } from '../observability/metrics';
import { registerScrapeGauges } from '../observability/scrape-gauges';
import { createLateAnswers, type LateAnswers } from '../responses/create-late-answers';
import { currentSecrets } from '../redact/current-secrets';
import { redactingStore } from '../redact/redacting-store';
import { errorHandler, notFound } from './error-handler';
import { healthRouter } from './health-routes';
import { dispatchHooksFirst } from './dispatch-hooks-first';
import { hooksRouter } from './hooks-route';
import { metricsRouter } from './metrics-route';
import { securityHeadersMiddleware } from './security-headers';

export interface AppDeps {
  readonly config: Pick<Config, 'bodyLimit' | 'flowOrgId' | 'dryRun'> &
    Partial<
      Pick<
        Config,
        | 'trustProxy'
        | 'idempotencyWindowMs'
        | 'flowTimeoutMs'
        | 'retryMaxAttempts'
        | 'retryMaxAgeMs'
        | 'adminToken'
        | 'responseUrlAllow'
        | 'flowApiToken'
        | 'executeBodyLimit'
        | 'refusedBodyLimit'
        | 'consoleEdit'
        | 'mappingsWatch'
        | 'metrics'
        | 'metricsToken'
      >
    >;
  /** Where every verified request is kept (SQLite by default). */
  readonly store: DeliveryStore;
  /** Per-flow limits, circuits and pauses (the admin API's pause and resume); none = unlimited. */
  readonly limiter?: FlowLimiter;
  /** Called when a delivery was queued (the worker's notify). */
  readonly onQueued?: () => void;
  /** This process's delivery leases (server.ts shares them with the worker); default from flowTimeoutMs. */
  readonly leases?: Leases;
  readonly logger: Logger;
  /** The current mappings; a function so a reload can swap them between requests. */
  readonly mappings: () => MappingSet;
  /** Undefined = dry-run. */
  readonly flowClient: FlowClient | undefined;
  /** The clock verifiers see, in ms; tests pin it. */
  readonly now?: () => number;
  /** Where sync runs that outlive their answer are kept, so a stop can wait for them. */
  readonly background?: BackgroundWork;
  /** Late answers through response_url (server.ts shares them with the worker); default: built here. */
  readonly lateAnswers?: LateAnswers;
  /** ${VAR}s of console drafts are read from here; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The built console (dist/console by default). */
  readonly consoleDir?: string;
  /**
   * What is counted and served at /metrics (server.ts shares it with the worker and the limiter,
   * with the process metrics); default: a registry of this app's own without the process metrics
   * (they watch the whole process, and an embedding process may build many apps), or nothing with
   * METRICS=off.
   */
  readonly metrics?: Metrics;
}

/** What a running app must stop before its server can close: live streams, bulk replay jobs. */
export interface AppStops {
  readonly stop: () => Promise<void>;
}

/** Builds the app without listening (server.ts listens; tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  const leases =
    deps.leases ?? createLeases({ flowTimeoutMs: deps.config.flowTimeoutMs ?? 10_000 });
  // Every configured secret and the flow token, kept out of what is stored and answered by value.
  const secrets = currentSecrets(deps.mappings, deps.config.flowApiToken);
  const metrics =
    deps.metrics ??
    (deps.config.metrics === false ? NO_METRICS : createMetrics({ defaultMetrics: false }));
  const store = redactingStore(instrumentedStore(deps.store, metrics), secrets);
  // Answers are per-request JSON: an ETag costs a hash per answer and means nothing to a sender.
  app.set('etag', false);
  app.set('x-powered-by', false);
  // req.protocol and req.host (the URL a sender signed) follow X-Forwarded-* only from these.
  app.set('trust proxy', deps.config.trustProxy ?? false);
  // The hook route first: it is the hot path, and Express tries routers in order. It sets the
  // security headers itself (helmet below runs for every other route).
  const hooks = hooksRouter(
    {
      mappings: deps.mappings,
      flowClient: deps.flowClient,
      defaultOrgId: deps.config.flowOrgId,
      executeBodyLimit: deps.config.executeBodyLimit,
      now: deps.now ?? Date.now,
      store,
      policy: retryPolicyFrom(deps.config),
      idempotencyWindowMs: deps.config.idempotencyWindowMs ?? 24 * 3_600_000,
      refusedBodyLimit: deps.config.refusedBodyLimit,
      // A sync delivery is held for one execution; past that the worker may take it back.
      leases,
      replayWaitMs: (deps.config.flowTimeoutMs ?? 10_000) + 5000,
      onQueued: deps.onQueued ?? (() => {}),
      onStoreFailure: (deliveryId, error) =>
        deps.logger.error(
          { err: error, deliveryId },
          'the delivery store failed to record an accepted delivery; the worker resumes it when its lease expires',
        ),
      track: (deps.background ?? createBackgroundWork()).track,
      lateAnswers:
        deps.lateAnswers ??
        createLateAnswers({
          store: deps.store,
          mappings: deps.mappings,
          allow: deps.config.responseUrlAllow ?? ['https://hooks.slack.com'],
          logger: deps.logger,
          now: deps.now ?? Date.now,
        }),
      ...(deps.limiter ? { limiter: deps.limiter } : {}),
      metrics,
      logger: deps.logger,
      secrets,
    },
    deps.logger,
    deps.config.bodyLimit,
    secrets,
    metrics,
  );
  app.use(hooks.router);
  // Every other route's answers carry the headers the hook route sets itself (security-headers.ts).
  app.use(securityHeadersMiddleware);
  // On by default; METRICS=off leaves /metrics a 404 like any unknown path.
  if (metrics.registry !== undefined && deps.config.metrics !== false) {
    registerScrapeGauges(metrics.registry, {
      store: deps.store,
      mappings: deps.mappings,
      ...(deps.limiter ? { limits: deps.limiter.store } : {}),
      ...(deps.now ? { now: deps.now } : {}),
    });
    app.use(metricsRouter(metrics.registry, deps.config.metricsToken, deps.logger));
  }
  app.use(healthRouter(deps.mappings, deps.config.dryRun, deps.store));
  // The admin API exists only when ADMIN_TOKEN is set; without it /api/* is a 404 like any path.
  if (deps.config.adminToken !== undefined) {
    // The admin API and the console (express-validator, express-rate-limit, the live feed and
    // bulk replays: ~10 MB of memory) are loaded only when ADMIN_TOKEN turns them on.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { createDeliveryFeed } =
      require('../console/delivery-feed') as typeof import('../console/delivery-feed');
    const { adminRouter, replayDepsFrom } =
      require('./admin-routes') as typeof import('./admin-routes');
    const { consoleApiRouter } =
      require('./console-api-routes') as typeof import('./console-api-routes');
    const { consoleRouter } = require('./console-routes') as typeof import('./console-routes');
    const { consoleSession } = require('./console-session') as typeof import('./console-session');
    const { requireAdminToken } =
      require('./require-admin-token') as typeof import('./require-admin-token');
    /* eslint-enable @typescript-eslint/no-require-imports */
    const session = consoleSession(deps.config.adminToken, deps.logger, deps.now);
    // The same leases as the hook route: one process holds deliveries under one name.
    const adminDeps = { ...deps, leases, store, metrics };
    const feed = createDeliveryFeed(deps.store, deps.logger);
    const consoleApi = consoleApiRouter({
      store,
      mappings: deps.mappings,
      replayDeps: replayDepsFrom(adminDeps),
      feed,
      logger: deps.logger,
      defaultOrgId: deps.config.flowOrgId,
      edit: deps.config.consoleEdit ?? false,
      watching: (deps.config.mappingsWatch ?? 'off') !== 'off',
      env: deps.env ?? process.env,
      now: deps.now,
    });
    app.use('/api', session.router);
    app.use(
      '/api',
      requireAdminToken(deps.config.adminToken, session.signedIn),
      consoleApi.router,
      adminRouter(adminDeps),
    );
    app.use('/console', consoleRouter(deps.consoleDir));
    const stops: AppStops = {
      stop: async () => {
        consoleApi.closeStreams();
        feed.stop();
        await consoleApi.jobs.stop();
      },
    };
    app.locals.stops = stops;
  }
  app.use(notFound);
  const onError = errorHandler(deps.logger, secrets, metrics);
  app.use(onError);
  dispatchHooksFirst(app, hooks.handle, onError);
  return app;
}
