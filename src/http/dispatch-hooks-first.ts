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
 * delivery's CPU (issue 15). The request still gets what Express gives every request (its
 * request and response prototypes, `res.locals`, `req.params`, `req.originalUrl`), and errors go
 * to the same error middleware. Anything else — another method, an absolute-form URL, a path of
 * another shape — goes through the router, where the same handler is mounted.
 */
export function dispatchHooksFirst(
  app: Express,
  handle: RequestHandler,
  onError: ErrorRequestHandler,
): void {
  const express = app as unknown as { handle: Handle; request: object; response: object };
  const routed = express.handle.bind(app);
  express.handle = (req, res, callback) => {
    const match = req.method === 'POST' ? HOOK_PATH.exec(req.url ?? '') : null;
    if (match === null) {
      routed(req, res, callback);
      return;
    }
    const request = Object.setPrototypeOf(req, express.request) as Request;
    const response = Object.setPrototypeOf(res, express.response) as Response;
    request.res = response;
    response.req = request;
    response.locals ??= Object.create(null);
    request.originalUrl = req.url ?? '/';
    request.baseUrl = '';
    const fail = (error: unknown) =>
      onError(error, request, response, () => {
        // The error middleware passes on only when the answer has begun: end the connection.
        response.destroy();
      });
    try {
      // The router decodes a parameter the same way (and a URIError is its 400 invalid_path).
      request.params = { source: decodeURIComponent(match[1]) };
    } catch (error) {
      fail(error);
      return;
    }
    handle(request, response, (error?: unknown) => {
      if (error === undefined || error === 'route' || error === 'router')
        routed(req, res, callback);
      else fail(error);
    });
  };
}
