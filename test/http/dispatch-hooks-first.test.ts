import { IncomingMessage, ServerResponse } from 'node:http';
import express, {
  type ErrorRequestHandler,
  type NextFunction,
  type Request,
  type Response,
} from 'express';
import request from 'supertest';
import {
  dispatchHooksFirst,
  expressify,
  type HookRequest,
  type HookResponse,
} from '../../src/http/dispatch-hooks-first';

/** What the handler saw of one request. */
interface Seen {
  nodePrototypes: boolean;
  source: string;
  originalUrl: string;
  locals: boolean;
  ipBefore?: unknown;
  ip?: string;
  expressAfter?: boolean;
}

/**
 * An Express app as createApp builds it, with dispatchHooksFirst in front of the router and a
 * handler that records what it was given. `mode` says what the handler does.
 */
function appWith(mode: 'answer' | 'express' | 'fail' | 'next') {
  const seen: Seen[] = [];
  const app = express();
  app.set('trust proxy', true);
  const handle = (req: Request, res: Response, next: NextFunction) => {
    const hookReq = req as unknown as HookRequest;
    const hookRes = res as unknown as HookResponse;
    const record: Seen = {
      nodePrototypes:
        Object.getPrototypeOf(req) === IncomingMessage.prototype &&
        Object.getPrototypeOf(res) === ServerResponse.prototype,
      source: hookReq.params.source,
      originalUrl: hookReq.originalUrl,
      locals: typeof hookRes.locals === 'object',
    };
    seen.push(record);
    if (mode === 'fail') {
      next(new Error('refused'));
      return;
    }
    if (mode === 'next') {
      next('route');
      return;
    }
    if (mode === 'express') {
      record.ipBefore = (req as { ip?: unknown }).ip;
      const upgraded = expressify(hookReq, hookRes);
      record.ip = upgraded.req.ip;
      record.expressAfter = Object.getPrototypeOf(req) === app.request;
      // Given once: a second call changes nothing.
      expressify(hookReq, hookRes);
      upgraded.res.status(201).type('text/plain').send('via express');
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ ok: true }));
  };
  const onError: ErrorRequestHandler = (error: Error, req, res, _next) => {
    // The error middleware gets Express's API.
    res.status(418).json({ error: error.message, path: req.path });
  };
  app.post('/hooks/:source', handle);
  app.post('/hooks/:source', (req: Request, res: Response) => {
    res.status(202).json({ routed: req.params.source });
  });
  app.use(onError);
  dispatchHooksFirst(app, handle, onError);
  return { app, seen };
}

describe('dispatchHooksFirst: a hook POST past the router, without Express prototypes (issue 15)', () => {
  it("hands the handler Node's own request and response, with params, originalUrl and locals", async () => {
    const { app, seen } = appWith('answer');
    const answer = await request(app).post('/hooks/git%20hub/').send('{}');
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({ ok: true });
    expect(seen).toEqual([
      { nodePrototypes: true, source: 'git hub', originalUrl: '/hooks/git%20hub/', locals: true },
    ]);
  });

  it("expressify gives Express's API (req.ip under trust proxy, res.send) once", async () => {
    const { app, seen } = appWith('express');
    const answer = await request(app)
      .post('/hooks/github')
      .set('X-Forwarded-For', '203.0.113.9')
      .send('{}');
    expect(answer.status).toBe(201);
    expect(answer.headers['content-type']).toBe('text/plain; charset=utf-8');
    expect(answer.text).toBe('via express');
    expect(seen[0]).toMatchObject({
      nodePrototypes: true,
      ipBefore: undefined,
      ip: '203.0.113.9',
      expressAfter: true,
    });
  });

  it("an error goes to the error middleware with Express's API", async () => {
    const { app } = appWith('fail');
    const answer = await request(app).post('/hooks/github').send('{}');
    expect(answer.status).toBe(418);
    expect(answer.body).toEqual({ error: 'refused', path: '/hooks/github' });
  });

  it('a path the router cannot decode is an error, not a crash', async () => {
    const { app, seen } = appWith('answer');
    const answer = await request(app).post('/hooks/%ff').send('{}');
    expect(answer.status).toBe(418);
    expect(answer.body.error).toMatch(/URI/);
    expect(seen).toEqual([]);
  });

  it("next('route') goes on through the router, which gives Express's prototypes", async () => {
    const { app, seen } = appWith('next');
    const answer = await request(app).post('/hooks/github').send('{}');
    // The router runs the mounted handler first (which passes again), then the next route.
    expect(answer.status).toBe(202);
    expect(answer.body).toEqual({ routed: 'github' });
    expect(seen.map((s) => s.nodePrototypes)).toEqual([true, false]);
  });

  it('another method or path shape goes through the router', async () => {
    const { app, seen } = appWith('answer');
    const answer = await request(app).get('/hooks/github');
    expect(answer.status).toBe(404);
    await request(app).post('/hooks/a/b').send('{}').expect(404);
    expect(seen).toEqual([]);
  });
});
