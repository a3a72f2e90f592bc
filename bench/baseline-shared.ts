// The work both baselines do, written once so that they do exactly the same thing and differ
// only in the HTTP stack (node:http vs Express + axios). This is the hard-coded equivalent of
// bench/mappings/github.yaml: no configuration layer, no store, no logging per request.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const MAX_BODY_BYTES = 1024 * 1024;
export const SOURCE = 'github';
export const ROUTE = 'push-to-main';
export const UPSTREAM_TIMEOUT_MS = 10_000;

export interface BaselineConfig {
  port: number;
  host: string;
  flowBaseUrl: string;
  orgId: string;
  token: string;
  secret: string;
  flowId: string;
}

function required(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') {
    throw new Error(`${name} must be set`);
  }
  return value;
}

/** Reads the same environment variables as flowhook, so the runner starts all servers alike. */
export function loadConfig(): BaselineConfig {
  const port = Number(process.argv[2] ?? process.env.PORT ?? '0');
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new Error(`bad port: ${String(port)}`);
  }
  return {
    port,
    host: process.env.HOST ?? '127.0.0.1',
    flowBaseUrl: required('FLOW_BASE_URL').replace(/\/+$/, ''),
    orgId: required('FLOW_ORG_ID'),
    token: required('FLOW_API_TOKEN'),
    secret: required('GITHUB_WEBHOOK_SECRET'),
    flowId: required('DEPLOY_FLOW_ID'),
  };
}

/** Path (after FLOW_BASE_URL) of the execute API for one flow. */
export function executePath(cfg: BaselineConfig): string {
  return (
    `/cgw/process/v1/orgs/${encodeURIComponent(cfg.orgId)}` +
    `/flows/${encodeURIComponent(cfg.flowId)}/execute`
  );
}

/** `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(raw body)>`, compared in constant time. */
export function verifyGithubSignature(
  raw: Buffer,
  header: string | string[] | undefined,
  secret: string,
): boolean {
  if (typeof header !== 'string' || !header.startsWith('sha256=')) {
    return false;
  }
  const received = Buffer.from(header.slice('sha256='.length), 'hex');
  const expected = createHmac('sha256', secret).update(raw).digest();
  return received.length === expected.length && timingSafeEqual(received, expected);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function at(value: unknown, ...keys: string[]): unknown {
  let current = value;
  for (const key of keys) {
    if (!isObject(current)) {
      return undefined;
    }
    current = current[key];
  }
  return current;
}

export type Decision =
  { kind: 'execute'; variables: Record<string, unknown> } | { kind: 'ignored'; reason: string };

/** The route `push-to-main` and its variables. */
export function decide(event: string | string[] | undefined, body: unknown): Decision {
  if (event !== 'push') {
    return { kind: 'ignored', reason: 'no route matched (X-GitHub-Event is not push)' };
  }
  if (at(body, 'ref') !== 'refs/heads/main') {
    return { kind: 'ignored', reason: 'no route matched ($.ref is not refs/heads/main)' };
  }
  return {
    kind: 'execute',
    variables: {
      repository: at(body, 'repository', 'full_name'),
      author: at(body, 'head_commit', 'author', 'name'),
      message: at(body, 'head_commit', 'message'),
      event,
      environment: 'production',
    },
  };
}

/** Reads `sessionId` and `result` from the execute API's 200 answer. */
export function parseExecuteAnswer(data: unknown): { sessionId: unknown; result: unknown } {
  return { sessionId: at(data, 'sessionId'), result: at(data, 'result') };
}

export function upstreamError(data: unknown): unknown {
  return at(data, 'error') ?? data;
}
