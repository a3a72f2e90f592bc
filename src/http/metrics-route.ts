import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Registry } from 'prom-client';
import { FlowhookError } from '../errors';
import type { Logger } from '../logger';
import { bearerToken } from './bearer-token';

/**
 * GET /metrics: the app's registry in Prometheus's text format. With METRICS_TOKEN the scraper
 * must send `Authorization: Bearer <token>` (Prometheus: `authorization: {credentials: …}`);
 * anything else is 401 and a log line, never which part was wrong.
 */
export function metricsRouter(
  registry: Registry,
  token: string | undefined,
  logger: Logger,
): Router {
  const router = express.Router();
  const check = token === undefined ? undefined : bearerToken(token);
  router.get('/metrics', (req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Cache-Control', 'no-store');
    if (check !== undefined && check(req) !== 'valid') {
      logger.warn({ address: req.ip }, '/metrics refused: no valid METRICS_TOKEN bearer');
      res.setHeader('WWW-Authenticate', 'Bearer realm="flowhook metrics"');
      next(
        new FlowhookError('unauthorized', '/metrics needs Authorization: Bearer <METRICS_TOKEN>'),
      );
      return;
    }
    registry.metrics().then(
      (text) => res.type(registry.contentType).send(text),
      (error: unknown) => next(error),
    );
  });
  return router;
}
