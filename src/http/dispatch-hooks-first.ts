import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';

/** `/hooks/<one segment>`, an optional trailing slash, an optional query: as the router matches. */
const HOOK_PATH = /^\/hooks\/([^/?]+)\/?(?:\?|$)/i;

type Handle = (
  req: IncomingMessage,
  res: ServerResponse,
  callback?: (error?: unknown) => void,
) => void;

/**
 * A POST to /hooks/<source> goes to the hook route's handler directly, past Express's router:
 * the router would find it first anyway (the hook route is its first layer), but walking to it
 * (path matching per layer, the `next` chain, parameter processing) was 3–5% of a sync
 * delivery's CPU (issue 15).
 *
 * Nor are the request and response given Express's prototypes up front, as Express does for every
 * request: an object whose prototype changes after it was made gets a map of its own kind, and
 * every property access in Node's HTTP code that sees both kinds turns polymorphic, then
 * megamorphic. That cost 10–15% of a sync delivery's CPU (issue 15). The handler gets what it
 * reads as own properties (`params`, `originalUrl`, `baseUrl`, `res.locals`), and `expressify`
 * gives a request Express's prototypes when something needs Express's API: a source with a rate
 * limit (`req.ip`), a query string, a preset that signs the URL, an answer of a `respond:`
 * template, and any error (the error middleware). Anything else — another method, an
 * absolute-form URL, a path of another shape — goes through the router, where the same handler
 * is mounted.
 */
export function dispatchHooksFirst(
  app: Express,
  handle: RequestHandler,
  onError: ErrorRequestHandler,
): void {
  const express = app as unknown as { handle: Handle };
  const routed = express.handle.bind(app);
  express.handle = (req, res, callback) => {
    const match = req.method === 'POST' ? HOOK_PATH.exec(req.url ?? '') : null;
    if (match === null) {
      routed(req, res, callback);
      return;
    }
    const request = req as HookRequest;
    const response = res as HookResponse;
    // Own properties, set in the same order on every request: one map for all of them.
    request.app = app;
    request.res = response;
    request.originalUrl = req.url ?? '/';
    request.baseUrl = '';
    request.params = {};
    response.app = app;
    response.req = request;
    response.locals = Object.create(null) as object;
    const fail = (error: unknown) => {
      const { req: expressReq, res: expressRes } = expressify(request, response);
      onError(error, expressReq, expressRes, () => {
        // The error middleware passes on only when the answer has begun: end the connection.
        response.destroy();
      });
    };
    try {
      // The router decodes a parameter the same way (and a URIError is its 400 invalid_path).
      request.params.source = decodeURIComponent(match[1]);
    } catch (error) {
      fail(error);
      return;
    }
    handle(request as unknown as Request, response as unknown as Response, (error?: unknown) => {
      if (error === undefined || error === 'route' || error === 'router')
        routed(req, res, callback);
      else fail(error);
    });
  };
}

/** A hook POST as dispatchHooksFirst hands it over: Node's request, with what the route reads. */
export type HookRequest = IncomingMessage & {
  app: Express;
  res: HookResponse;
  originalUrl: string;
  baseUrl: string;
  params: Record<string, string>;
};

export type HookResponse = ServerResponse & {
  app: Express;
  req: HookRequest;
  locals: object;
};

/**
 * The request and response with Express's prototypes, for what needs Express's API (`req.ip`,
 * `req.protocol`, `req.query`, `res.status().type().send()`, the error middleware). Given once;
 * a request that came through the router has them already.
 */
export function expressify(
  req: HookRequest | Request,
  res: HookResponse | Response,
): { req: Request; res: Response } {
  const app = req.app as unknown as { request: object; response: object };
  if (Object.getPrototypeOf(req) !== app.request) {
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
  }
  return { req: req as Request, res: res as Response };
}
