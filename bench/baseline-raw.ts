// Baseline 1: the least a Node process can do for this webhook. node:http in, node:http out
// (keep-alive agent), no framework. Same environment variables as flowhook.
//   node dist/bench/baseline-raw.js [port]
import http from 'node:http';
import { randomUUID } from 'node:crypto';
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
const upstream = new URL(cfg.flowBaseUrl + executePath(cfg));
if (upstream.protocol !== 'http:') {
  throw new Error('baseline-raw only speaks http:// to the flow API');
}
const agent = new http.Agent({ keepAlive: true });
const authorization = `Bearer ${cfg.token}`;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

interface UpstreamAnswer {
  status: number;
  data: unknown;
}

function execute(variables: Record<string, unknown>): Promise<UpstreamAnswer> {
  const body = JSON.stringify(variables);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        agent,
        method: 'POST',
        hostname: upstream.hostname,
        port: upstream.port,
        path: upstream.pathname,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
          authorization,
        },
        timeout: UPSTREAM_TIMEOUT_MS,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let data: unknown = text;
          try {
            data = JSON.parse(text);
          } catch {
            // keep the text
          }
          resolve({ status: res.statusCode ?? 0, data });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('upstream timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function handleHook(req: http.IncomingMessage, res: http.ServerResponse, raw: Buffer) {
  const deliveryId = randomUUID();
  if (!verifyGithubSignature(raw, req.headers['x-hub-signature-256'], cfg.secret)) {
    send(res, 401, { error: 'invalid signature', code: 'bad_signature', deliveryId });
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw.toString('utf8'));
  } catch {
    send(res, 400, { error: 'body is not JSON', code: 'bad_body', deliveryId });
    return;
  }
  const decision = decide(req.headers['x-github-event'], body);
  if (decision.kind === 'ignored') {
    send(res, 202, { deliveryId, status: 'ignored', reason: decision.reason });
    return;
  }
  let answer: UpstreamAnswer;
  try {
    answer = await execute(decision.variables);
  } catch (err) {
    send(res, 502, { error: `flow API unreachable: ${(err as Error).message}`, deliveryId });
    return;
  }
  if (answer.status !== 200) {
    send(res, 502, {
      error: 'flow API error',
      code: 'upstream',
      deliveryId,
      upstream: { status: answer.status, error: upstreamError(answer.data) },
    });
    return;
  }
  const { sessionId, result } = parseExecuteAnswer(answer.data);
  send(res, 200, {
    deliveryId,
    source: SOURCE,
    route: ROUTE,
    flowId: cfg.flowId,
    sessionId,
    result,
  });
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'GET' && url === '/healthz') {
    send(res, 200, { status: 'ok' });
    return;
  }
  if (req.method !== 'POST' || url !== `/hooks/${SOURCE}`) {
    send(res, 404, { error: 'not found', code: 'not_found' });
    req.resume();
    return;
  }
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > MAX_BODY_BYTES) {
    res.setHeader('connection', 'close');
    send(res, 413, { error: 'body too large', code: 'too_large' });
    req.resume();
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let tooLarge = false;
  req.on('data', (chunk: Buffer) => {
    if (tooLarge) {
      return;
    }
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      tooLarge = true;
      chunks.length = 0;
      res.setHeader('connection', 'close');
      send(res, 413, { error: 'body too large', code: 'too_large' });
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => {
    if (tooLarge) {
      return;
    }
    handleHook(req, res, Buffer.concat(chunks, size)).catch((err: unknown) => {
      console.error(err);
      if (!res.headersSent) {
        send(res, 500, { error: 'internal error', code: 'internal' });
      }
    });
  });
});

server.keepAliveTimeout = 65_000;
server.listen(cfg.port, cfg.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : cfg.port;
  console.log(`baseline-raw listening on http://${cfg.host}:${port}`);
});

function shutdown(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  agent.destroy();
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
