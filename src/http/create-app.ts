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
  readonly config: Pick<Config, 'bodyLimit' | 'flowOrgId' | 'dryRun'>;
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
  app.use(helmet());
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
