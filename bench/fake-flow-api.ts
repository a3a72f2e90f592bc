// A lean stand-in for the flow platform's execute API, run as its own process by bench/run.ts.
//   node dist/bench/fake-flow-api.js [port]        (port: argv, else FAKE_FLOW_PORT, else 0 = any)
// Prints `PORT=<n>` on stdout once listening. Listens on 127.0.0.1 only.
//   POST /cgw/process/v1/orgs/{org}/flows/{flow}/execute  -> 200 {"sessionId","result"}
//        (401 if FAKE_FLOW_TOKEN is set and the bearer token differs; 400 if the body is not a
//        JSON object). FAKE_FLOW_DELAY_MS > 0 delays every answer, to mimic a slow flow.
//   GET  /count  -> {"executes": n, "rejected": n, "lastExecuteAt": ms}   (executes = answered
//        200; lastExecuteAt = Date.now() of the last one, 0 before any: the end of an async drain)
//   POST /reset  -> zeroes the counters
import http from 'node:http';
import { randomUUID } from 'node:crypto';

const EXECUTE_PATH = /^\/cgw\/process\/v1\/orgs\/[^/]+\/flows\/[^/]+\/execute$/;
const port = Number(process.argv[2] ?? process.env.FAKE_FLOW_PORT ?? '0');
const expectedAuth = process.env.FAKE_FLOW_TOKEN ? `Bearer ${process.env.FAKE_FLOW_TOKEN}` : null;
const delayMs = Number(process.env.FAKE_FLOW_DELAY_MS ?? '0');

let executes = 0;
/** OTLP exports received (flowhook-traced). */
let traceExports = 0;
let rejected = 0;
let lastExecuteAt = 0;

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

function answerExecute(req: http.IncomingMessage, res: http.ServerResponse, raw: string): void {
  if (expectedAuth !== null && req.headers.authorization !== expectedAuth) {
    rejected++;
    send(res, 401, { error: 'invalid or missing bearer token' });
    return;
  }
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    body = undefined;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    rejected++;
    send(res, 400, { error: 'body must be a JSON object of variables' });
    return;
  }
  executes++;
  lastExecuteAt = Date.now();
  send(res, 200, { sessionId: randomUUID(), result: 'Execution completed' });
}

const server = http.createServer((req, res) => {
  const url = req.url ?? '/';
  if (req.method === 'POST' && EXECUTE_PATH.test(url)) {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => {
      raw += chunk;
    });
    req.on('end', () => {
      if (delayMs > 0) {
        setTimeout(() => answerExecute(req, res, raw), delayMs);
      } else {
        answerExecute(req, res, raw);
      }
    });
    return;
  }
  req.resume();
  // flowhook-traced's OTLP exporter: a sink that takes the spans and throws them away.
  if (req.method === 'POST' && url === '/v1/traces') {
    req.on('end', () => {
      traceExports++;
      send(res, 200, {});
    });
    return;
  }
  if (req.method === 'GET' && url === '/count') {
    send(res, 200, { executes, rejected, lastExecuteAt, traceExports });
  } else if (req.method === 'POST' && url === '/reset') {
    executes = 0;
    rejected = 0;
    lastExecuteAt = 0;
    send(res, 200, { executes, rejected, lastExecuteAt });
  } else {
    send(res, 404, { error: 'org or flow not found' });
  }
});

server.keepAliveTimeout = 65_000;
server.listen(port, '127.0.0.1', () => {
  const address = server.address();
  const actual = typeof address === 'object' && address !== null ? address.port : port;
  process.stdout.write(`PORT=${actual}\n`);
});

function shutdown(): void {
  server.close(() => process.exit(0));
  server.closeAllConnections();
  setTimeout(() => process.exit(0), 1000).unref();
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
