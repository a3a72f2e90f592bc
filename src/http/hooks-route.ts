import type { ServerResponse } from 'node:http';
import { SpanKind, context, trace as otelTrace, type Span } from '@opentelemetry/api';
import express, {
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
  type Router,
} from 'express';
import { FlowhookError } from '../errors';
import { validTraceparent } from '../flows/valid-traceparent';
import type { Logger } from '../logger';
import { NO_METRICS, type Metrics } from '../observability/metrics';
import { contextOf, tracer } from '../observability/trace-context';
import {
  handleDelivery,
  type DeliveryAnswer,
  type DeliveryTrace,
  type PipelineDeps,
} from '../pipeline/handle-delivery';
import type { SecretRedactor } from '../redact/create-secret-redactor';
import type { HeaderMap } from '../verify/types';
import { finishHookRequest, type HookRouteLocals } from './finish-hook-request';
import { expressify, type HookRequest, type HookResponse } from './dispatch-hooks-first';
import { readRawBody } from './read-raw-body';
import { SECURITY_HEADERS } from './security-headers';
import { sourceRateLimit } from './source-rate-limit';

export type { HookRouteLocals };

/**
 * POST /hooks/:source — raw bytes in (bounded), the pipeline, the answer. The hot path of the
 * service, so a hook request runs one handler, not a middleware chain (issue 15): it sets the
 * security headers itself (the same helmet's middleware sets on every other route, read once),
 * checks the source's rate limit and reads the body in line, and writes a JSON answer without
 * Express's `res.json`. Errors still go to the one error middleware.
 */
export function hooksRouter(
  deps: PipelineDeps,
  logger: Logger,
  bodyLimit: number,
  /** Every configured secret and the flow token: no answer carries one (issue 9, item 6). */
  secrets: () => SecretRedactor,
  metrics: Metrics = NO_METRICS,
): HooksRoute {
  const router = express.Router();
  const rateLimit = sourceRateLimit(deps.mappings);

  // Node's request and response, without Express's prototypes (dispatchHooksFirst says why):
  // what needs Express's API asks expressify for it.
  const handleHook = async (req: HookRequest, res: HookResponse): Promise<void> => {
    const locals = res.locals as HookRouteLocals;
    locals.startedAt = performance.now();
    const trace: DeliveryTrace = {};
    locals.trace = trace;
    receiveSpan(req, res);
    // Before the body is read: a refused sender's bytes are neither read nor kept.
    const limited = rateLimit(req, res, trace);
    if (limited !== undefined) await limited;
    const rawBody = await readRawBody(req, bodyLimit);
    const otel = locals.otel;
    const run = () =>
      handleDelivery(
        {
          sourceName: req.params.source,
          rawBody,
          // Node lower-cases names and joins repeats with ", " (set-cookie aside, never sent here).
          headers: req.headers as HeaderMap,
          method: req.method ?? 'POST',
          // The URL the sender used; behind a trusted proxy (TRUST_PROXY), from X-Forwarded-*.
          // Read only by the presets that sign it, so it is worked out only then.
          get url() {
            const { req: express } = expressify(req, res);
            return `${express.protocol}://${express.host ?? 'localhost'}${req.originalUrl}`;
          },
          path: req.originalUrl,
          // Express 5 parses the query string on every read of req.query; most hooks have none.
          query: req.url?.includes('?') ? firstValues(expressify(req, res).req.query) : NO_QUERY,
        },
        deps,
        trace,
      );
    // The stages, store writes and execute calls are children of the receive span.
    const answer = otel === undefined ? await run() : await context.with(otel, run);
    const redactor = secrets();
    if (answer.headers || answer.contentType !== undefined || answer.text) {
      // An answer of a respond: template (its headers, its content type) or a handshake's text:
      // sent as Express sends it (the content type's charset, the length).
      sendOwn(expressify(req, res).res, answer, redactor);
    } else sendJson(res, answer.status, redactor.jsonText(answer.body));
    finishHookRequest(logger, metrics, res, answer.status);
  };

  const handle = (req: Request, res: Response, next: NextFunction) => {
    handleHook(req as unknown as HookRequest, res as unknown as HookResponse).catch(
      (error: unknown) => {
        // The error middleware adds the security headers; an error answer is per delivery too.
        if (!res.headersSent) res.setHeader(...NO_STORE);
        next(error);
      },
    );
  };
  router.post('/hooks/:source', handle);
  // A browser or a misconfigured sender using GET: say what is expected instead of a bare 404.
  router.all('/hooks/:source', (_req: Request, res: Response, next: NextFunction) => {
    res.setHeader('Allow', 'POST');
    next(new FlowhookError('method_not_allowed', 'webhooks are sent with POST'));
  });
  return { router, handle };
}

export interface HooksRoute {
  /** POST /hooks/:source and the 405 for other methods. */
  readonly router: Router;
  /** The POST handler itself (dispatchHooksFirst calls it past the router). */
  readonly handle: RequestHandler;
}

/** An answer with headers, a content type of its own or plain text, through Express's API. */
function sendOwn(res: Response, answer: DeliveryAnswer, redactor: SecretRedactor): void {
  setHookHeaders(res);
  if (answer.headers) res.set(redactor.json(answer.headers));
  // A respond: template's answer: its exact text, with its own content type.
  const type = answer.contentType ?? (answer.text ? 'text/plain' : undefined);
  if (type === undefined) {
    sendJson(res, answer.status, redactor.jsonText(answer.body));
    return;
  }
  res
    .status(answer.status)
    .type(type)
    .send(redactor.text(String(answer.body)));
}

/**
 * What `res.status(status).json(body)` sends for a POST (no ETag, no JSON settings, no HEAD or
 * freshness case), written directly. `json` is the body's text as the redactor made it
 * (`jsonText`: the text its search ran over, not made a second time).
 */
function sendJson(res: ServerResponse, status: number, json: string): void {
  res.writeHead(status, [
    ...JSON_ANSWER_HEADERS,
    'Content-Length',
    String(Buffer.byteLength(json)),
  ]);
  res.end(json);
}

/** Answers are per delivery: no proxy or client may cache one. */
const NO_STORE = ['Cache-Control', 'no-store'] as const;

/**
 * Every hook answer's headers: the security headers and no caching. Set with the answer (issue 15):
 * set when the request arrived, they lived as objects for the whole request, and a sync request
 * lives through the collector's young generation.
 */
const HOOK_HEADERS: readonly (readonly [string, string])[] = [...SECURITY_HEADERS, NO_STORE];

/** A JSON answer's headers but its length, as the one flat list writeHead takes. */
const JSON_ANSWER_HEADERS: readonly string[] = [
  ...HOOK_HEADERS.flat(),
  'Content-Type',
  'application/json; charset=utf-8',
];

/** The hook headers on an answer Express sends (a respond: template's, a handshake's text). */
function setHookHeaders(res: ServerResponse): void {
  for (const [name, value] of HOOK_HEADERS) res.setHeader(name, value);
}

const NO_QUERY: Readonly<Record<string, string | undefined>> = Object.freeze(Object.create(null));

function firstValues(query: Request['query']): Record<string, string | undefined> {
  const result: Record<string, string | undefined> = Object.create(null);
  for (const [key, value] of Object.entries(query)) {
    const first = Array.isArray(value) ? value[0] : value;
    if (typeof first === 'string') result[key] = first;
  }
  return result;
}

/**
 * The server span of a hook request, child of the sender's traceparent when it sent a valid one.
 * It ends when the answer is sent, with what the request became (source, delivery ids, routes,
 * flows, sessionIds, state): names and ids only, never a header value or the body. Tracing off,
 * the span is the API's no-op and nothing is kept.
 */
function receiveSpan(req: HookRequest, res: HookResponse): void {
  // A repeated header arrives joined with ", ": not a valid traceparent, as req.get's would be.
  const parent = contextOf(validTraceparent(req.headers.traceparent as string | undefined));
  const span = tracer().startSpan(
    'POST /hooks/:source',
    {
      kind: SpanKind.SERVER,
      attributes: { 'http.request.method': 'POST', 'http.route': '/hooks/:source' },
    },
    parent,
  );
  if (!span.isRecording()) return;
  (res.locals as HookRouteLocals).otel = otelTrace.setSpan(parent, span);
  res.once('close', () => endReceive(span, res));
}

function endReceive(span: Span, res: HookResponse): void {
  const trace = (res.locals as HookRouteLocals).trace;
  const attributes: Record<string, string | number | boolean | undefined> = {
    'http.response.status_code': res.statusCode,
    'flowhook.source': trace.source,
    'flowhook.delivery_id': trace.deliveryId,
    'flowhook.provider_delivery_id': trace.providerDeliveryId,
    'flowhook.route': trace.route,
    'flowhook.flow': trace.flow,
    'flowhook.session_id': trace.sessionId,
    'flowhook.mode': trace.mode,
    'flowhook.outcome': trace.state ?? (trace.replayed ? 'replayed' : undefined),
  };
  for (const [key, value] of Object.entries(attributes)) {
    if (value !== undefined) span.setAttribute(key, value);
  }
  if (res.statusCode >= 500) span.setStatus({ code: 2 });
  span.end();
}
