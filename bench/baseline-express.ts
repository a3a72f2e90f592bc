// Baseline 2: the same work as baseline-raw on the stack flowhook is built on (Express 5 + axios),
// written as lean as that stack allows and with no configuration layer: the limit of this stack.
//   node dist/bench/baseline-express.js [port]
import http from 'node:http';
import https from 'node:https';
import { randomUUID } from 'node:crypto';
import express, { type NextFunction, type Request, type Response } from 'express';
import axios from 'axios';
import {
  MAX_BODY_BYTES,
  ROUTE,
  SOURCE,
  UPSTREAM_TIMEOUT_MS,
  decide,
  executePath,
  loadConfig,
  parseExecuteAnswer,
  upstreamError,
  verifyGithubSignature,
} from './baseline-shared';

const cfg = loadConfig();
const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });
const flowApi = axios.create({
  baseURL: cfg.flowBaseUrl,
  timeout: UPSTREAM_TIMEOUT_MS,
  maxRedirects: 0,
  httpAgent,
  httpsAgent,
  headers: { Authorization: `Bearer ${cfg.token}` },
  validateStatus: () => true,
});
const path = executePath(cfg);

const app = express();
app.disable('x-powered-by');
app.set('etag', false);

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.post(
  `/hooks/${SOURCE}`,
  express.raw({ type: () => true, limit: MAX_BODY_BYTES }),
  async (req: Request, res: Response) => {
    const deliveryId = randomUUID();
    const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
    if (!verifyGithubSignature(raw, req.headers['x-hub-signature-256'], cfg.secret)) {
      res.status(401).json({ error: 'invalid signature', code: 'bad_signature', deliveryId });
      return;
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8'));
    } catch {
      res.status(400).json({ error: 'body is not JSON', code: 'bad_body', deliveryId });
      return;
    }
    const decision = decide(req.headers['x-github-event'], body);
    if (decision.kind === 'ignored') {
      res.status(202).json({ deliveryId, status: 'ignored', reason: decision.reason });
      return;
    }
    let answer;
    try {
      answer = await flowApi.post(path, decision.variables);
    } catch (err) {
      res
        .status(502)
        .json({ error: `flow API unreachable: ${(err as Error).message}`, deliveryId });
      return;
    }
    if (answer.status !== 200) {
      res.status(502).json({
        error: 'flow API error',
        code: 'upstream',
        deliveryId,
        upstream: { status: answer.status, error: upstreamError(answer.data) },
      });
      return;
    }
    const { sessionId, result } = parseExecuteAnswer(answer.data);
    res.json({ deliveryId, source: SOURCE, route: ROUTE, flowId: cfg.flowId, sessionId, result });
  },
);

app.use((_req: Request, res: Response) => {
  res.status(404).json({ error: 'not found', code: 'not_found' });
});

app.use((err: Error & { status?: number }, _req: Request, res: Response, _next: NextFunction) => {
  const status = typeof err.status === 'number' && err.status >= 400 ? err.status : 500;
  if (status >= 500) {
    console.error(err);
  }
  res.status(status).json({ error: status >= 500 ? 'internal error' : err.message });
});

const server = app.listen(cfg.port, cfg.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : cfg.port;
  console.log(`baseline-express listening on http://${cfg.host}:${port}`);
});
server.keepAliveTimeout = 65_000;

function shutdown(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  httpAgent.destroy();
  httpsAgent.destroy();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
