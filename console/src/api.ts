/** The admin API, as the console calls it: same origin, the session cookie, JSON both ways. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly body: Record<string, unknown>,
  ) {
    super(message);
  }
}

/** Called when any call answers 401: the session expired or was never there. */
let onSignedOut: () => void = () => {};
export function whenSignedOut(callback: () => void): void {
  onSignedOut = callback;
}

export async function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`/api${path}`, {
    method,
    credentials: 'same-origin',
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (response.status === 204) return undefined as T;
  const data = (await response.json().catch(() => ({}))) as Record<string, unknown>;
  if (!response.ok) {
    if (response.status === 401 && path !== '/session') onSignedOut();
    throw new ApiError(
      response.status,
      String(data.code ?? 'error'),
      String(data.error ?? response.statusText),
      data,
    );
  }
  return data as T;
}

export interface Summary {
  id: string;
  source: string;
  state: string;
  mode: string;
  receivedAt: string;
  updatedAt: string;
  routes: { route: string; flowId: string }[];
  attempts: number;
  lastError: { code: string; message: string } | null;
  idempotencyKey: string | null;
  nextAttemptAt: string | null;
  dryRun: boolean;
}

export interface Attempt {
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

export interface ConditionTrace {
  condition: string;
  held: boolean;
  found?: unknown[];
  children?: ConditionTrace[];
}

export interface Explanation {
  source: string;
  file: string;
  dispatch: string;
  routes: { name: string; held: boolean; conditions: ConditionTrace[] }[];
  matched: string[];
  executions: {
    route: string;
    flowId: string;
    request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  }[];
  error?: { status: number; code: string; message: string };
  verification?: { provider: string; secretIndex: number | null };
  mappingVersion?: string;
}

export interface Detail extends Omit<Summary, 'attempts'> {
  mappingVersion: string;
  request: {
    method: string;
    url: string;
    headers: Record<string, string>;
    bodyBytes: number;
    bodyTruncated: boolean;
    bodyBase64: string;
    bodyText?: string;
  };
  routes: { route: string; flowId: string; orgId: string; variables: unknown }[];
  answer: { status: number; body: unknown } | null;
  attempts: Attempt[];
  explanation?: Explanation | null;
}

export interface Problem {
  file: string;
  message: string;
  line: number | null;
  column: number | null;
  path: string | null;
}

export interface SourcesView {
  sources: {
    name: string;
    file: string;
    version: string;
    provider: string;
    mode: string;
    dispatch: string;
    paused: boolean;
    routes: { name: string; flowId: string; orgId: string | null }[];
  }[];
  disabled: { name: string; files: string[]; reason: string; cause: string }[];
  errors: Problem[];
  warnings: Problem[];
}

export interface Job {
  id: string;
  state: 'collecting' | 'running' | 'finished' | 'cancelled';
  total: number;
  done: number;
  succeeded: number;
  failed: number;
  queued: number;
  dead: number;
  skipped: number;
  refused: number;
  problems: { deliveryId: string; code: string; message: string }[];
}

export const STATES = ['queued', 'running', 'succeeded', 'failed', 'dead', 'ignored'] as const;

/** An id's last 8 characters: random in every id (its first ones are the time it was received). */
export const shortId = (id: string) => id.slice(-8);

export function when(iso: string | null): string {
  if (iso === null) return '—';
  return new Date(iso)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');
}
