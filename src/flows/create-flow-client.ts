import http from 'node:http';
import https from 'node:https';
import { FlowhookError } from '../errors';
import { createSecretRedactor, type SecretRedactor } from '../redact/create-secret-redactor';
import { executePath, type ExecuteRequest, type ExecuteResult } from './execute-request';

export interface FlowClient {
  execute(request: ExecuteRequest): Promise<ExecuteResult>;
  close(): void;
}

export interface FlowClientOptions {
  readonly baseUrl: string;
  readonly token: string;
  readonly timeoutMs: number;
}

const MAX_UPSTREAM_MESSAGE = 500;

/**
 * The most of an answer's body that is read (1 MiB, the request body's own cap): an execute
 * answer is a session id and a short text. Past it the call ends there, its body dropped, so a
 * broken or hostile flow API cannot make flowhook hold an answer of any size in memory.
 */
export const MAX_ANSWER_BYTES = 1024 * 1024;

/**
 * The User-Agent the flow API has always seen: the client was an axios instance until issue 15,
 * and an upstream may log or filter on it. The version follows the axios this build ships with.
 */
// Read from axios's package.json: loading axios itself costs ~4 MB of memory at start.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const USER_AGENT = `axios/${(require('axios/package.json') as { version: string }).version}`;

/**
 * An answer as read: its status, its body parsed as JSON when it parses, its Retry-After.
 * `tooLarge`: the body passed MAX_ANSWER_BYTES and was not read (`body` is undefined).
 */
interface Answer {
  readonly status: number;
  readonly body: unknown;
  readonly retryAfter: string | undefined;
  readonly tooLarge?: true;
}

/**
 * A failure of the transport, with the code its message names: a system code (`ECONNREFUSED`,
 * `ECONNRESET`…), `ETIMEDOUT` for the deadline, `ERR_BAD_REQUEST` for a protocol other than
 * http(s). Anything else thrown on the way is reported as a `network error`.
 */
class TransportFailure extends Error {
  constructor(readonly code: string | undefined) {
    super(code ?? 'network error');
  }
}

/**
 * The execute API client: one `http.request` per call on a keep-alive agent (issue 15: axios's
 * per-call dispatch, its config merge, headers, interceptors and transforms, was ~6% of a sync
 * request's CPU; it replaced axios here, with the behaviour the axios instance had):
 * - POST of the variables as JSON; Accept and Content-Type JSON, the bearer token, the sender's
 *   traceparent when there is one, `Accept-Encoding: identity`, axios's User-Agent;
 * - no redirects (a redirect of a POST with a bearer token is never wanted): a 3xx is an answer;
 * - the answer's body parsed as JSON when it parses, else kept as text (axios's
 *   `responseType: 'json'`);
 * - one deadline for the whole call: connect, the answer's headers and its body (a body trickled
 *   after the headers could outlive the delivery's lease and the worker would run it again, issue
 *   9 item 15);
 * - every failure a FlowhookError that carries the upstream status and message but never the
 *   token.
 */
export function createFlowClient(options: FlowClientOptions): FlowClient {
  // The token in every form an upstream may echo it: any letter case, base64, URL-encoded.
  const token = createSecretRedactor([options.token]);
  const agents = {
    http: new http.Agent({ keepAlive: true, maxSockets: 256 }),
    https: new https.Agent({ keepAlive: true, maxSockets: 256 }),
  };
  const authorization = `Bearer ${options.token}`;

  return {
    async execute(request) {
      let answer: Answer;
      try {
        answer = await send(options.baseUrl, request, authorization, agents, options.timeoutMs);
      } catch (error) {
        throw transportError(error, options.timeoutMs);
      }
      const retryAfter = () => retryAfterMs(answer.retryAfter, Date.now());
      if (answer.tooLarge) {
        // Its status decides as any other answer's would: a 5xx or 429 is tried again, a 2xx is
        // not (the flow may have run), a 4xx is final.
        throw upstreamError(
          answer.status,
          `the answer's body is larger than ${MAX_ANSWER_BYTES} bytes; not read`,
          retryAfter(),
        );
      }
      const body = answer.body as
        { sessionId?: unknown; result?: unknown; error?: unknown } | undefined;
      if (answer.status >= 200 && answer.status < 300) {
        if (typeof body?.sessionId !== 'string') {
          throw upstreamError(answer.status, 'the answer has no sessionId');
        }
        const result = typeof body.result === 'string' ? body.result : '';
        return { sessionId: body.sessionId, result };
      }
      // An upstream that echoes the request must not leak the token through our answer or logs.
      throw upstreamError(answer.status, upstreamMessage(body, token), retryAfter());
    },
    close() {
      agents.http.destroy();
      agents.https.destroy();
    },
  };
}

/** One execute call: one JSON text, one `http.request`, the answer read whole within the deadline. */
function send(
  baseUrl: string,
  request: ExecuteRequest,
  authorization: string,
  agents: { readonly http: http.Agent; readonly https: https.Agent },
  timeoutMs: number,
): Promise<Answer> {
  // Parsed per call, as the path joined to the base: an id of `..` is resolved as it always was.
  const url = new URL(fullPath(baseUrl, executePath(request.orgId, request.flowId)));
  const secure = url.protocol === 'https:';
  if (!secure && url.protocol !== 'http:') {
    return Promise.reject(new TransportFailure('ERR_BAD_REQUEST'));
  }
  const body = JSON.stringify(request.variables);
  const headers: http.OutgoingHttpHeaders = {
    Accept: 'application/json',
    'Content-Type': 'application/json',
    Authorization: authorization,
  };
  if (request.traceparent) headers.traceparent = request.traceparent;
  headers['User-Agent'] = USER_AGENT;
  headers['Accept-Encoding'] = 'identity';
  headers['Content-Length'] = Buffer.byteLength(body);
  return new Promise<Answer>((resolve, reject) => {
    let done = false;
    const fail = (code: string | undefined) => {
      if (done) return;
      done = true;
      clearTimeout(deadline);
      reject(new TransportFailure(code));
      req.destroy();
    };
    const req = (secure ? https : http).request(
      {
        method: 'POST',
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path: url.pathname + url.search,
        headers,
        agent: secure ? agents.https : agents.http,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let bytes = 0;
        res.on('data', (chunk: Buffer) => {
          if (done) return;
          bytes += chunk.length;
          if (bytes <= MAX_ANSWER_BYTES) {
            chunks.push(chunk);
            return;
          }
          // Answered, but too much to read: the status and Retry-After are kept, the connection
          // is not (the rest of the body is never read).
          done = true;
          clearTimeout(deadline);
          chunks.length = 0;
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: undefined, retryAfter, tooLarge: true });
          req.destroy();
        });
        res.on('error', (error: NodeJS.ErrnoException) => fail(error.code));
        res.on('aborted', () => fail('ECONNRESET'));
        res.on('end', () => {
          if (done) return;
          done = true;
          clearTimeout(deadline);
          const text = (chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).toString('utf8');
          const retryAfter = res.headers['retry-after'];
          resolve({ status: res.statusCode ?? 0, body: parsedJson(text), retryAfter });
        });
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => fail(error.code));
    const deadline = setTimeout(() => fail('ETIMEDOUT'), timeoutMs);
    req.end(body);
  });
}

/** axios's rule: a relative URL is appended to the base URL, one slash between them. */
function fullPath(baseUrl: string, path: string): string {
  return baseUrl ? `${baseUrl.replace(/\/?\/$/, '')}/${path.replace(/^\/+/, '')}` : path;
}

/** The body as axios's JSON response transform gives it: parsed if it parses, else the text. */
function parsedJson(text: string): unknown {
  if (text === '') return text;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

/**
 * The upstream's error text, token redacted, at most 500 characters. Redacted before it is cut:
 * a cut first could leave part of a token that no longer matches (issue 9, item 7).
 */
function upstreamMessage(body: unknown, token: SecretRedactor): string {
  const error = typeof body === 'string' ? body : (body as { error?: unknown } | null)?.error;
  if (typeof error !== 'string') return '';
  return token.text(error).slice(0, MAX_UPSTREAM_MESSAGE);
}

function upstreamError(status: number, message: string, retryAfter?: number): FlowhookError {
  return new FlowhookError('upstream_error', `the flow API answered ${status}`, {
    upstream: {
      status,
      error: message,
      ...(retryAfter === undefined ? {} : { retryAfterMs: retryAfter }),
    },
  });
}

/** Retry-After as seconds or an HTTP date (RFC 9110 §10.2.3), in ms from now; undefined if absent or odd. */
export function retryAfterMs(value: unknown, now: number): number | undefined {
  if (typeof value !== 'string' || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/** Network failures, described without the request (which holds the token). */
function transportError(error: unknown, timeoutMs: number): FlowhookError {
  const code = error instanceof TransportFailure ? error.code : undefined;
  // ETIMEDOUT: the deadline (or the system's connect timeout); ECONNABORTED: the system's.
  if (code === 'ETIMEDOUT' || code === 'ECONNABORTED') {
    return new FlowhookError(
      'upstream_timeout',
      `the flow API did not answer within ${timeoutMs} ms`,
    );
  }
  return new FlowhookError(
    'upstream_unreachable',
    `the flow API could not be reached (${code ?? 'network error'})`,
  );
}
