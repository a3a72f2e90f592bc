import express, { type Router } from 'express';
import type { DeliveryStore, StoreStatus } from '../deliveries/types';
import { mappingProblems } from '../mappings/mapping-problems';
import type { MappingSet } from '../mappings/types';

/** GET /healthz (the process answers) and GET /readyz (what is loaded, and what could not be). */
export function healthRouter(
  mappings: () => MappingSet,
  dryRun: boolean,
  store: DeliveryStore,
): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const set = mappings();
    let deliveries: Record<string, number>;
    let status: StoreStatus;
    try {
      [deliveries, status] = await Promise.all([store.counts(), store.status()]);
    } catch (error) {
      // Without its store flowhook cannot accept a delivery durably: not ready. It comes back
      // by itself when the store answers again (a load balancer routes around it meanwhile).
      res.status(503).json({
        status: 'unavailable',
        store: { reachable: false },
        error: `the delivery store does not answer: ${(error as Error).message}`,
      });
      return;
    }
    res.json({
      // Ready with load errors still serves every good source; "degraded" says something needs a look.
      status: set.errors.length > 0 ? 'degraded' : 'ready',
      dryRun,
      // Engine and schema version, not where it is: /readyz answers anyone.
      store: {
        reachable: true,
        engine: status.engine,
        schemaVersion: status.schemaVersion,
      },
      deliveries,
      sources: [...set.sources.values()].map((s) => ({
        name: s.name,
        file: s.file,
        version: s.version,
        provider: s.provider,
        routes: s.routes.map((r) => r.name),
      })),
      disabled: [...set.disabled.values()],
      // Every problem of every file, as flowhook validate prints them (unset variables marked).
      problems: mappingProblems(set),
      errors: set.errors,
      warnings: set.warnings,
    });
  });
  return router;
}
