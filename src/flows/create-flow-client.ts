import http from 'node:http';
import https from 'node:https';
import axios, { AxiosError } from 'axios';
import { FlowhookError } from '../errors';
import { createSecretRedactor, type SecretRedactor } from '../redact/create-secret-redactor';
import { nodeHttpAdapter } from './node-http-adapter';
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
 * The execute API client: one axios instance with keep-alive agents, no redirects (a redirect of
 * a POST with a bearer token is never wanted, and maxRedirects: 0 also skips follow-redirects),
 * and every failure turned into a FlowhookError that carries the upstream status and message but
 * never the token.
 */
export function createFlowClient(options: FlowClientOptions): FlowClient {
  // The token in every form an upstream may echo it: any letter case, base64, URL-encoded.
  const token = createSecretRedactor([options.token]);
  const httpAgent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const httpsAgent = new https.Agent({ keepAlive: true, maxSockets: 256 });
  const client = axios.create({
    baseURL: options.baseUrl,
    timeout: options.timeoutMs,
    // axios's API and errors over one http.request per call (issue 15: a cheaper transport).
    adapter: nodeHttpAdapter({ http: httpAgent, https: httpsAgent }),
    maxRedirects: 0,
    proxy: false,
    responseType: 'json',
    validateStatus: () => true,
    headers: {
      Authorization: `Bearer ${options.token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json',
    },
  });

  return {
    async execute(request) {
      const headers = request.traceparent ? { traceparent: request.traceparent } : undefined;
      let response;
      try {
        response = await client.post(
          executePath(request.orgId, request.flowId),
          request.variables,
          {
            headers,
            // axios's timeout ends the wait for the answer's headers only; a body trickled after
            // them could outlive the delivery's lease and the worker would run it again (issue 9,
            // item 15). The signal bounds the whole call: connect, headers and body.
            signal: AbortSignal.timeout(options.timeoutMs),
          },
        );
      } catch (error) {
        throw transportError(error, options.timeoutMs);
      }
      const body = response.data as
        { sessionId?: unknown; result?: unknown; error?: unknown } | undefined;
      if (response.status >= 200 && response.status < 300) {
        if (typeof body?.sessionId !== 'string') {
          throw upstreamError(response.status, 'the answer has no sessionId');
        }
        const result = typeof body.result === 'string' ? body.result : '';
        return { sessionId: body.sessionId, result };
      }
      // An upstream that echoes the request must not leak the token through our answer or logs.
      throw upstreamError(
        response.status,
        upstreamMessage(body, token),
        retryAfterMs(response.headers['retry-after'], Date.now()),
      );
    },
    close() {
      httpAgent.destroy();
      httpsAgent.destroy();
    },
  };
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

/** Network failures, described without the request config (which holds the token). */
function transportError(error: unknown, timeoutMs: number): FlowhookError {
  const code = error instanceof AxiosError ? error.code : undefined;
  // ERR_CANCELED: the total deadline's signal fired (nothing else cancels an execute call).
  if (code === 'ECONNABORTED' || code === 'ETIMEDOUT' || code === 'ERR_CANCELED') {
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
