import type { CliIo } from './cli-io';
import { explanationLines, type ExplanationLike } from './explanation-lines';

export interface DeliveriesOptions {
  status?: string;
  source?: string;
  route?: string;
  flow?: string;
  search?: string;
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
  url?: string;
  json?: boolean;
}

/** How long a command waits for the running flowhook (a replay runs the flow while it waits). */
const ANSWER_TIMEOUT_MS = 120_000;

/** An answer of the admin API, or the exit code when there was none to use. */
export type AdminAnswer = { readonly status: number; readonly body: unknown } | number;

/**
 * Calls the admin API of a running flowhook with ADMIN_TOKEN from the environment. Prints the
 * problem and returns an exit code instead of an answer: 2 when ADMIN_TOKEN or --url is unusable,
 * 1 when nothing answered or the answer is not 2xx.
 */
export async function callAdminApi(
  command: string,
  method: 'GET' | 'POST',
  path: string,
  baseUrl: string | undefined,
  io: CliIo,
): Promise<AdminAnswer> {
  const fail = (code: number, message: string) => {
    io.err(`flowhook ${command}: ${message}\n`);
    return code;
  };
  const token = io.env.ADMIN_TOKEN?.trim();
  if (!token) {
    return fail(2, 'ADMIN_TOKEN is not set; set it to the ADMIN_TOKEN of the running flowhook');
  }
  const base = baseUrl ?? `http://127.0.0.1:${io.env.PORT || 3000}`;
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    return fail(2, `--url "${base}" is not an http:// or https:// URL`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return fail(2, `--url "${base}" is not an http:// or https:// URL`);
  }
  const [pathname, search = ''] = path.split('?');
  url.pathname = `${url.pathname.replace(/\/+$/, '')}${pathname}`;
  url.search = search;
  url.hash = '';
  let response: Response;
  try {
    response = await fetch(url, {
      method,
      headers: { authorization: `Bearer ${token}`, accept: 'application/json' },
      redirect: 'manual',
      signal: AbortSignal.timeout(ANSWER_TIMEOUT_MS),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    const why = cause?.code ?? cause?.message ?? (error as Error).message;
    return fail(
      1,
      `no answer from ${url.origin} (${why}); is flowhook running there? (--url, or PORT)`,
    );
  }
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not JSON (a proxy's page, say): shown as text.
  }
  if (!response.ok) {
    const error = body as { error?: unknown; code?: unknown } | null;
    const detail =
      error !== null && typeof error === 'object' && typeof error.error === 'string'
        ? `${String(error.code)}: ${error.error}`
        : text.slice(0, 300);
    const hint =
      response.status === 404 && (error as { code?: unknown } | null)?.code === 'not_found'
        ? '\n  (the admin API is off there: the running flowhook needs ADMIN_TOKEN set)'
        : response.status === 401
          ? '\n  (this ADMIN_TOKEN is not the one the running flowhook has)'
          : '';
    return fail(1, `${method} ${url.pathname} → ${response.status} ${detail}${hint}`);
  }
  return { status: response.status, body };
}

interface Summary {
  id: string;
  source: string;
  state: string;
  receivedAt: string;
  routes: { route: string; flowId: string }[];
  attempts: number;
  lastError: { code: string; message: string } | null;
  /** Handled with FLOW_BASE_URL unset: nothing reached a flow. */
  dryRun?: boolean;
}

/**
 * `flowhook deliveries`: lists stored deliveries (newest first) from a running flowhook's admin
 * API, as a table or, with --json, the API's answer. Exit 0 when listed, 1 when the API refused
 * or did not answer, 2 when ADMIN_TOKEN is not set.
 */
export async function deliveriesCommand(
  options: DeliveriesOptions,
  io: CliIo,
  id?: string,
): Promise<number> {
  if (id !== undefined) return showDelivery(id, options, io);
  const params = new URLSearchParams();
  for (const name of [
    'status',
    'source',
    'route',
    'flow',
    'since',
    'until',
    'limit',
    'cursor',
  ] as const) {
    const value = options[name];
    if (value !== undefined) params.set(name, value);
  }
  if (options.search !== undefined) params.set('q', options.search);
  const query = params.toString();
  const answer = await callAdminApi(
    'deliveries',
    'GET',
    `/api/deliveries${query ? `?${query}` : ''}`,
    options.url,
    io,
  );
  if (typeof answer === 'number') return answer;
  if (options.json) {
    io.out(`${JSON.stringify(answer.body, null, 2)}\n`);
    return 0;
  }
  const { items, nextCursor } = answer.body as { items: Summary[]; nextCursor: string | null };
  if (items.length === 0) {
    io.out('no deliveries\n');
    return 0;
  }
  const rows = items.map((d) => [
    d.receivedAt.replace(/\.\d{3}Z$/, 'Z'),
    d.id,
    d.source,
    d.dryRun ? `${d.state} (dry-run)` : d.state,
    d.routes.map((r) => `${r.route}→${r.flowId}`).join(', ') || '-',
    String(d.attempts),
    d.lastError ? oneLine(`${d.lastError.code}: ${d.lastError.message}`, 60) : '',
  ]);
  io.out(table(['RECEIVED', 'ID', 'SOURCE', 'STATE', 'ROUTES', 'ATTEMPTS', 'LAST ERROR'], rows));
  io.out(`${items.length} deliver${items.length === 1 ? 'y' : 'ies'}\n`);
  if (nextCursor !== null) io.out(`more: add --cursor ${nextCursor}\n`);
  return 0;
}

/** An attempt as the admin API shows it (GET /api/deliveries/:id, POST …/replay). */
export interface AttemptView {
  number: number;
  startedAt: string;
  durationMs: number;
  route: string;
  flowId: string;
  outcome: string;
  httpStatus: number | null;
  sessionId: string | null;
  error: { code: string; message: string } | null;
  draft?: boolean;
}

interface Detail {
  id: string;
  source: string;
  state: string;
  mode: string;
  receivedAt: string;
  idempotencyKey: string | null;
  lastError: { code: string; message: string } | null;
  dryRun?: boolean;
  mappingVersion: string;
  nextAttemptAt: string | null;
  request: { method: string; url: string };
  attempts: AttemptView[];
  explanation:
    | (ExplanationLike & {
        file: string;
        dispatch: string;
        mappingVersion: string;
        verification: { provider: string; secretIndex: number | null };
      })
    | null;
}

/**
 * `flowhook deliveries <id>`: one delivery, with the routing explanation stored when it was
 * received (route by route, condition by condition, as `flowhook test` prints it) and its attempts.
 */
async function showDelivery(id: string, options: DeliveriesOptions, io: CliIo): Promise<number> {
  const answer = await callAdminApi(
    'deliveries',
    'GET',
    `/api/deliveries/${encodeURIComponent(id)}`,
    options.url,
    io,
  );
  if (typeof answer === 'number') return answer;
  if (options.json) {
    io.out(`${JSON.stringify(answer.body, null, 2)}
`);
    return 0;
  }
  const d = answer.body as Detail;
  const lines = [
    `delivery ${d.id}`,
    `  source ${d.source}, ${d.mode}, ${d.state}${d.dryRun ? ' (dry-run: nothing reached a flow)' : ''}; received ${d.receivedAt}`,
    `  ${d.request.method} ${d.request.url}`,
    `  provider delivery id: ${d.idempotencyKey ?? '-'}`,
  ];
  if (d.lastError !== null) lines.push(`  last error: ${d.lastError.code}: ${d.lastError.message}`);
  if (d.nextAttemptAt !== null) lines.push(`  next retry: ${d.nextAttemptAt}`);
  const e = d.explanation;
  if (e === null) {
    lines.push('', 'routing explanation: not stored (received before explanations were kept)');
  } else {
    const secret =
      e.verification.secretIndex === null ? '' : `, secret #${e.verification.secretIndex + 1}`;
    lines.push(
      '',
      `routing explanation, as received with ${e.file} version ${e.mappingVersion} (dispatch: ${e.dispatch})`,
      `verified by ${e.verification.provider}${secret}`,
      ...explanationLines(e),
    );
  }
  lines.push('', d.attempts.length === 0 ? 'no attempts' : 'attempts:');
  for (const a of d.attempts) {
    const result = a.sessionId
      ? `session ${a.sessionId}`
      : a.error
        ? `${a.error.code}: ${oneLine(a.error.message, 100)}`
        : '';
    lines.push(
      `  ${a.number}. ${a.startedAt} route ${a.route} → flow ${a.flowId}: ${a.outcome}` +
        `${a.httpStatus === null ? '' : ` (HTTP ${a.httpStatus})`}, ${a.durationMs} ms` +
        `${result ? `, ${result}` : ''}${a.draft ? ' [draft mapping]' : ''}`,
    );
  }
  io.out(`${lines.join('\n')}\n`);
  return 0;
}

function oneLine(text: string, max: number): string {
  const flat = text.replace(/\s+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

/** Columns padded to their widest cell; the last one is not padded. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const all = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i]?.length ?? 0)));
  return all
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i])))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}
