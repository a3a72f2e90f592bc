import http from 'node:http';
import https from 'node:https';
import axios, {
  AxiosError,
  type AxiosAdapter,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';

// Values of axios's default export (its CommonJS typings name them there only).
const { AxiosHeaders, CanceledError, VERSION } = axios;

/**
 * An axios adapter that sends the execute call with one `http.request` on a keep-alive agent and
 * nothing else (issue 15: axios's own Node adapter was a tenth of a sync request's CPU: streams,
 * redirect and proxy plumbing, decompression, a `setKeepAlive` per request). axios keeps its
 * API, its config merge, its request and response transforms (JSON in, JSON out) and its errors,
 * as the flow client relies on them:
 * - a timeout (no answer's headers within `timeout`, or a socket idle that long) is an
 *   AxiosError `ECONNABORTED` with axios's message;
 * - an aborted `signal` is a CanceledError (`ERR_CANCELED`);
 * - a network failure is an AxiosError with the system's code (`ECONNREFUSED`, `ECONNRESET`…);
 * - a status `validateStatus` refuses is an AxiosError `ERR_BAD_REQUEST` / `ERR_BAD_RESPONSE`
 *   with the response.
 * It speaks only what the flow client uses: a string or Buffer body (axios's transform made it),
 * no proxy, no redirects, no compression (it asks for `identity`), answers read as text (as
 * axios's `responseType: 'json'` does before its transform parses them) or as a Buffer.
 */
export function nodeHttpAdapter(agents: {
  readonly http: http.Agent;
  readonly https: https.Agent;
}): AxiosAdapter {
  return (config) =>
    new Promise<AxiosResponse>((resolve, reject) => {
      const url = new URL(fullPath(config.baseURL, config.url ?? ''));
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') {
        reject(new AxiosError(`unsupported protocol ${url.protocol}`, 'ERR_BAD_REQUEST', config));
        return;
      }
      const signal = config.signal as AbortSignal | undefined;
      if (signal?.aborted) {
        reject(new CanceledError(undefined, undefined, config));
        return;
      }
      const body = bodyOf(config.data);
      const headers = requestHeaders(config, body);
      let done = false;
      let headersTimer: NodeJS.Timeout | undefined;
      const finish = (settle: () => void) => {
        if (done) return;
        done = true;
        clearTimeout(headersTimer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };
      const fail = (error: Error) => {
        finish(() => reject(error));
        req.destroy();
      };
      const options: http.RequestOptions = {
        method: (config.method ?? 'get').toUpperCase(),
        hostname: url.hostname.replace(/^\[|\]$/g, ''),
        port: url.port,
        path: url.pathname + url.search,
        headers,
        agent: secure ? agents.https : agents.http,
      };
      const req = (secure ? https : http).request(options, (res) => {
        clearTimeout(headersTimer);
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', (error) => fail(AxiosError.from(error, undefined, config, req)));
        res.on('aborted', () =>
          fail(new AxiosError('the answer was cut off', 'ECONNRESET', config, req)),
        );
        res.on('end', () => {
          const raw = Buffer.concat(chunks);
          const response: AxiosResponse = {
            data: config.responseType === 'arraybuffer' ? raw : raw.toString('utf8'),
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? '',
            headers: new AxiosHeaders(res.headers as Record<string, string>),
            config,
            request: req,
          };
          finish(() => settle(response, resolve, reject));
        });
      });
      req.on('error', (error) => fail(AxiosError.from(error, undefined, config, req)));
      const onAbort = () => fail(new CanceledError(undefined, undefined, config));
      signal?.addEventListener('abort', onAbort, { once: true });
      const timeout = config.timeout ?? 0;
      if (timeout > 0) {
        const timedOut = () =>
          fail(new AxiosError(`timeout of ${timeout}ms exceeded`, 'ECONNABORTED', config, req));
        // Wall clock until the answer's headers (a socket still connecting has no idle timer),
        // and an idle socket after that, as axios's own adapter does.
        headersTimer = setTimeout(timedOut, timeout);
        req.setTimeout(timeout, timedOut);
      }
      req.end(body);
    });
}

/** axios's rule: a relative URL is appended to baseURL, one slash between them. */
function fullPath(baseURL: string | undefined, url: string): string {
  if (!baseURL || /^([a-z][a-z\d+\-.]*:)?\/\//i.test(url)) return url;
  return url ? `${baseURL.replace(/\/?\/$/, '')}/${url.replace(/^\/+/, '')}` : baseURL;
}

function bodyOf(data: unknown): Buffer | string | undefined {
  if (data === undefined || data === null) return undefined;
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // The flow client sends objects, which axios's transform has turned into JSON text by now.
  throw new AxiosError('the body must be text or bytes', 'ERR_BAD_REQUEST');
}

function requestHeaders(
  config: InternalAxiosRequestConfig,
  body: Buffer | string | undefined,
): http.OutgoingHttpHeaders {
  const headers = AxiosHeaders.from(config.headers);
  headers.set('User-Agent', `axios/${VERSION}`, false);
  headers.set('Accept-Encoding', 'identity');
  if (body !== undefined) headers.set('Content-Length', Buffer.byteLength(body));
  else headers.delete('Content-Type');
  const out: http.OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers.toJSON())) {
    if (value !== undefined && value !== null) out[name] = value;
  }
  return out;
}

/** axios's settle: resolves unless validateStatus refuses the status. */
function settle(
  response: AxiosResponse,
  resolve: (response: AxiosResponse) => void,
  reject: (error: AxiosError) => void,
): void {
  const validate = response.config.validateStatus;
  if (!response.status || !validate || validate(response.status)) {
    resolve(response);
    return;
  }
  reject(
    new AxiosError(
      `Request failed with status code ${response.status}`,
      response.status < 500 ? 'ERR_BAD_REQUEST' : 'ERR_BAD_RESPONSE',
      response.config,
      response.request,
      response,
    ),
  );
}
