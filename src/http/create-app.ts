import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import type { FlowClient } from '../flows/create-flow-client';
import type { Logger } from '../logger';
import type { MappingSet } from '../mappings/types';
import { errorHandler, notFound } from './error-handler';
import { healthRouter } from './health-routes';
import { hooksRouter } from './hooks-route';

export interface AppDeps {
  readonly config: Pick<Config, 'bodyLimit' | 'flowOrgId' | 'dryRun'> &
    Partial<Pick<Config, 'trustProxy'>>;
  readonly logger: Logger;
  /** The current mappings; a function so a reload can swap them between requests. */
  readonly mappings: () => MappingSet;
  /** Undefined = dry-run. */
  readonly flowClient: FlowClient | undefined;
  /** The clock verifiers see, in ms; tests pin it. */
  readonly now?: () => number;
}

/** Builds the app without listening (server.ts listens; tests use supertest). */
export function createApp(deps: AppDeps): Express {
  const app = express();
  // Answers are per-request JSON: an ETag costs a hash per answer and means nothing to a sender.
  app.set('etag', false);
  app.set('x-powered-by', false);
  // req.protocol and req.host (the URL a sender signed) follow X-Forwarded-* only from these.
  app.set('trust proxy', deps.config.trustProxy ?? false);
  // Headers for a JSON API, not a web page (OWASP REST Security cheat sheet): a CSP that allows
  // nothing, no framing, nosniff, HSTS, no referrer. Helmet's page-oriented defaults (a long CSP,
  // DNS-prefetch, IE download options, origin-agent-cluster…) add about 600 bytes to every answer.
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] },
      },
      frameguard: { action: 'deny' },
      crossOriginEmbedderPolicy: false,
      crossOriginOpenerPolicy: false,
      originAgentCluster: false,
      xDnsPrefetchControl: false,
      xDownloadOptions: false,
      xPermittedCrossDomainPolicies: false,
      xXssProtection: false,
    }),
  );
  // The hook route first: it is the hot path, and Express tries routers in order.
  app.use(
    hooksRouter(
      {
        mappings: deps.mappings,
        flowClient: deps.flowClient,
        defaultOrgId: deps.config.flowOrgId,
        now: deps.now ?? Date.now,
      },
      deps.logger,
      deps.config.bodyLimit,
    ),
  );
  app.use(healthRouter(deps.mappings, deps.config.dryRun));
  app.use(notFound);
  app.use(errorHandler(deps.logger));
  return app;
}
