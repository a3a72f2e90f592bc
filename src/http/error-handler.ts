import type { NextFunction, Request, Response } from 'express';
import { StoreUnavailableError } from '../deliveries/store-unavailable-error';
import { FlowhookError } from '../errors';
import type { Logger } from '../logger';
import { createSecretRedactor, type SecretRedactor } from '../redact/create-secret-redactor';
import type { DeliveryTrace } from '../pipeline/handle-delivery';
import { NO_METRICS, type Metrics } from '../observability/metrics';
import { finishHookRequest } from './finish-hook-request';
import { setSecurityHeaders } from './security-headers';

/** body-parser's errors carry `type`; map the ones a sender can cause to our codes. */
function fromBodyParser(error: { type?: string; status?: number; message: string }): FlowhookError {
  switch (error.type) {
    case 'entity.too.large':
      return new FlowhookError('body_too_large', 'the body is larger than the limit');
    case 'encoding.unsupported':
      return new FlowhookError(
        'unsupported_media_type',
        'compressed bodies are not accepted: the signature covers the bytes as sent uncompressed',
      );
    case 'request.aborted':
    case 'request.size.invalid':
      return new FlowhookError('invalid_body', 'the body ended before its announced length');
    default:
      return new FlowhookError('invalid_body', error.message);
  }
}

function toFlowhookError(error: unknown): FlowhookError {
  if (error instanceof FlowhookError) return error;
  // The router could not percent-decode a path segment (/hooks/%ff, /hooks/%): not a body
  // problem, and no source can have such a name (issue 9, item 10).
  if (error instanceof URIError) {
    return new FlowhookError('invalid_path', 'the path is not valid percent-encoded UTF-8');
  }
  // The database is down or restarting (any route: hooks, admin reads, replay): retry later.
  if (error instanceof StoreUnavailableError) {
    return new FlowhookError(
      'store_unavailable',
      'the delivery store is unavailable; nothing was changed, try again shortly',
      {},
      error,
    );
  }
  const candidate = error as { type?: string; status?: number; message?: string } | null;
  if (
    candidate &&
    typeof candidate.status === 'number' &&
    candidate.status >= 400 &&
    candidate.status < 500
  ) {
    return fromBodyParser({ ...candidate, message: candidate.message ?? 'bad request' });
  }
  return new FlowhookError('internal', 'internal error');
}

/** The one place an error becomes an answer: `{error, code, deliveryId?, ...details}`. */
const NO_SECRETS = createSecretRedactor([]);

/**
 * The one place an error becomes an answer: `{error, code, deliveryId?, ...details}`. A message
 * may quote what the sender sent (a JSON parser's excerpt): secrets are redacted from the answer
 * and the log line by value (issue 9, item 6).
 */
export function errorHandler(
  logger: Logger,
  secrets: () => SecretRedactor = () => NO_SECRETS,
  metrics: Metrics = NO_METRICS,
) {
  return (error: unknown, _req: Request, res: Response, next: NextFunction): void => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const failure = toFlowhookError(error);
    const trace = res.locals.trace as DeliveryTrace | undefined;
    if (failure.code === 'internal') logger.error({ err: error, ...trace }, 'unexpected error');
    if (failure.code === 'store_unavailable') {
      logger.error({ err: failure.cause, ...trace }, 'the delivery store failed');
      res.setHeader('Retry-After', '5');
    }
    // An error may come before any route set them (a path the router cannot decode).
    setSecurityHeaders(res);
    const redactor = secrets();
    const message = redactor.text(failure.message);
    // store_unavailable means nothing was stored: an id would name a delivery that does not
    // exist (issue 9, item 16), and the sender's next try gets a new one.
    const stored = trace?.deliveryId !== undefined && failure.code !== 'store_unavailable';
    res.status(failure.status).json({
      error: message,
      code: failure.code,
      ...(stored ? { deliveryId: trace.deliveryId } : {}),
      ...redactor.json(failure.details),
    });
    if (trace) {
      finishHookRequest(logger, metrics, res, failure.status, { code: failure.code, message });
    } else {
      logger.warn({ status: failure.status, code: failure.code }, message);
    }
  };
}

/** Anything not routed: 404 in the same shape as every other error. */
export function notFound(req: Request, _res: Response, next: NextFunction): void {
  next(new FlowhookError('not_found', `${req.method} ${req.path} is not a route of flowhook`));
}
