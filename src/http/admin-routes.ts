import express, { type Request, type Response, type Router } from 'express';
import type { Metrics } from '../observability/metrics';
import { checkExact, matchedData, param, query } from 'express-validator';
import type { Leases } from '../deliveries/lease';
import { retryPolicyFrom } from '../deliveries/retry-policy';
import type { RouteResult } from '../deliveries/run-delivery';
import {
  DELIVERY_STATES,
  type Attempt,
  type DeliveryFilter,
  type DeliveryRecord,
  type DeliveryState,
  type DeliveryStore,
} from '../deliveries/types';
import { FlowhookError } from '../errors';
import { createDryRunClient } from '../flows/create-dry-run-client';
import { describeExecute } from '../flows/execute-request';
import type { FlowClient } from '../flows/create-flow-client';
import type { Logger } from '../logger';
import type { LoadProblem, MappingSet } from '../mappings/types';
import { replayDelivery, type ReplayDeps } from '../pipeline/replay-delivery';
import type { Config } from '../config';
import type { FlowLimiter } from '../limits/create-flow-limiter';
import { limitsView } from '../limits/limits-view';
import { limitsRouter } from './limits-routes';
import { invalidRequest, rejectInvalid } from './reject-invalid';

export interface AdminDeps {
  readonly config: Pick<Config, 'flowOrgId'> &
    Partial<
      Pick<Config, 'flowTimeoutMs' | 'retryMaxAttempts' | 'retryMaxAgeMs' | 'executeBodyLimit'>
    >;
  readonly store: DeliveryStore;
  readonly mappings: () => MappingSet;
  /** A replay's attempts and outcome are counted here (/metrics). */
  readonly metrics?: Metrics;
  /** Undefined = dry-run: a replay logs the execute call instead of sending it. */
  readonly flowClient: FlowClient | undefined;
  readonly logger: Logger;
  /** The same leases as the hook route (createApp passes them). */
  readonly leases: Leases;
  readonly onQueued?: () => void;
  readonly now?: () => number;
  /** Pause, resume and the limits' state; without it those endpoints answer 404. */
  readonly limiter?: FlowLimiter;
}

/** What a replay needs, from the admin deps: the same policy, lease and clock as the hook route. */
export function replayDepsFrom(deps: AdminDeps): ReplayDeps {
  return {
    store: deps.store,
    mappings: deps.mappings,
    client: deps.flowClient ?? createDryRunClient(deps.logger),
    policy: retryPolicyFrom(deps.config),
    defaultOrgId: deps.config.flowOrgId,
    executeBodyLimit: deps.config.executeBodyLimit,
    leases: deps.leases,
    now: deps.now ?? Date.now,
    onQueued: deps.onQueued ?? (() => {}),
    metrics: deps.metrics,
  };
}

export const MAX_LIMIT = 500;
export const DEFAULT_LIMIT = 50;

/**
 * The admin API under /api (mounted by createApp behind requireAdminToken, only when ADMIN_TOKEN
 * is set): the delivery log, one delivery with its attempts, replay, and the loaded sources.
 * Secrets never appear: sources are described field by field (never their verify spec), and
 * deliveries hold what was stored, with credentials redacted when they were received.
 */
export function adminRouter(deps: AdminDeps): Router {
  const router = express.Router();
  const replayDeps = replayDepsFrom(deps);

  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get(
    '/deliveries',
    checkExact(
      [
        text('source'),
        query('status')
          .optional()
          .custom(once)
          .bail()
          .isIn(DELIVERY_STATES)
          .withMessage(`must be one of ${DELIVERY_STATES.join(', ')}`),
        text('route'),
        text('flow'),
        text('q'),
        query('until')
          .optional()
          .custom(once)
          .bail()
          .custom((value: string) => sinceMs(value) !== undefined)
          .withMessage('must be an ISO 8601 date (2024-05-01, 2024-05-01T10:00:00Z) or epoch ms')
          .bail()
          .customSanitizer((value: string) => sinceMs(value)),
        query('since')
          .optional()
          .custom(once)
          .bail()
          .custom((value: string) => sinceMs(value) !== undefined)
          .withMessage('must be an ISO 8601 date (2024-05-01, 2024-05-01T10:00:00Z) or epoch ms')
          .bail()
          .customSanitizer((value: string) => sinceMs(value)),
        query('limit')
          .optional()
          .custom(once)
          .bail()
          .isInt({ min: 1, max: MAX_LIMIT })
          .withMessage(`must be a whole number from 1 to ${MAX_LIMIT}`)
          .bail()
          .toInt(),
        query('cursor')
          .optional()
          .custom(once)
          .bail()
          .matches(/^[A-Za-z0-9_-]{1,512}$/)
          .withMessage('must be a nextCursor from an earlier page'),
      ],
      { locations: ['query'], message: 'is not a parameter of this endpoint' },
    ),
    rejectInvalid,
    async (req: Request, res: Response) => {
      const input = matchedData<{
        source?: string;
        status?: DeliveryState;
        route?: string;
        flow?: string;
        q?: string;
        since?: number;
        until?: number;
        limit?: number;
        cursor?: string;
      }>(req, { locations: ['query'] });
      const filter: DeliveryFilter = {
        source: input.source,
        state: input.status,
        route: input.route,
        flowId: input.flow,
        search: input.q,
        since: input.since,
        until: input.until,
        limit: input.limit ?? DEFAULT_LIMIT,
        cursor: input.cursor,
      };
      let page: Awaited<ReturnType<DeliveryStore['list']>>;
      try {
        page = await deps.store.list(filter);
      } catch (error) {
        // The store reads the cursor; one it did not write is a RangeError.
        if (error instanceof RangeError && filter.cursor !== undefined) {
          throw invalidRequest([
            { name: 'cursor', in: 'query', message: 'must be a nextCursor from an earlier page' },
          ]);
        }
        throw error;
      }
      res.json({ items: page.items.map(summaryView), nextCursor: page.nextCursor });
    },
  );

  const deliveryId = param('id').isUUID().withMessage('must be a delivery id (a UUID)');

  router.get('/deliveries/:id', deliveryId, rejectInvalid, async (req: Request, res: Response) => {
    const id = String(req.params.id);
    const record = await deps.store.get(id);
    if (record === undefined) {
      throw new FlowhookError('delivery_not_found', `no delivery with id ${id}`);
    }
    res.json(detailView(record));
  });

  router.post(
    '/deliveries/:id/replay',
    deliveryId,
    rejectInvalid,
    async (req: Request, res: Response) => {
      const id = String(req.params.id);
      const outcome = await replayDelivery(id, replayDeps);
      const { record } = outcome;
      deps.logger.info(
        {
          deliveryId: id,
          source: record.source,
          mappingVersion: record.mappingVersion,
          state: record.state,
          attempts: outcome.attempts.map((a) => a.number),
        },
        'delivery replayed',
      );
      res.status(record.state === 'queued' ? 202 : 200).json({
        deliveryId: id,
        state: record.state,
        mappingVersion: record.mappingVersion,
        attempts: outcome.attempts.map(attemptView),
        results: outcome.results.map(resultView),
        ...(record.nextAttemptAt === null ? {} : { nextAttemptAt: iso(record.nextAttemptAt) }),
      });
    },
  );

  router.get('/sources', async (_req: Request, res: Response) => {
    const paused = new Set(
      ((await deps.limiter?.store.pauses()) ?? [])
        .filter((p) => p.kind === 'source')
        .map((p) => p.name),
    );
    res.json(sourcesView(deps.mappings(), deps.config.flowOrgId, paused));
  });

  if (deps.limiter) router.use(limitsRouter({ ...deps, limiter: deps.limiter }, rejectInvalid));

  return router;
}

/** An optional free-text filter: given once, not empty, not huge. */
function text(name: string) {
  return query(name)
    .optional()
    .custom(once)
    .bail()
    .isLength({ min: 1, max: 200 })
    .withMessage('must be 1 to 200 characters');
}

/** `?a=1&a=2` arrives as an array; a filter takes one value. */
function once(value: unknown): true {
  if (typeof value !== 'string') throw new Error('must be given once');
  return true;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?)?$/;

/**
 * `since` in ms: epoch milliseconds, or an ISO 8601 date or date-time (a time without an offset
 * is UTC). Undefined when it is neither, or names a day that does not exist (2024-02-30).
 */
export function sinceMs(value: string): number | undefined {
  if (/^\d{1,16}$/.test(value)) {
    const ms = Number(value);
    return ms <= 8.64e15 ? ms : undefined;
  }
  const match = ISO_DATE.exec(value);
  if (match === null) return undefined;
  const [year, month, day] = [Number(match[1]), Number(match[2]), Number(match[3])];
  const date = new Date(Date.UTC(year, month - 1, day));
  if (date.getUTCMonth() !== month - 1 || date.getUTCDate() !== day) return undefined;
  // A date alone is UTC for Date.parse; a date-time without an offset would be local time.
  const withZone = value.length > 10 && match[4] === undefined ? `${value}Z` : value;
  const ms = Date.parse(withZone);
  return Number.isFinite(ms) ? ms : undefined;
}

const iso = (ms: number) => new Date(ms).toISOString();

/** A list row: what happened to the delivery, without the request. */
export function summaryView(record: DeliveryRecord) {
  return {
    id: record.id,
    source: record.source,
    state: record.state,
    mode: record.mode,
    receivedAt: iso(record.receivedAt),
    updatedAt: iso(record.updatedAt),
    routes: record.routes.map((r) => ({ route: r.route, flowId: r.flowId })),
    attempts: record.attempts.length,
    lastError: lastErrorOf(record),
    idempotencyKey: record.idempotencyKey,
    nextAttemptAt: record.nextAttemptAt === null ? null : iso(record.nextAttemptAt),
    // Executed by the dry-run client (FLOW_BASE_URL unset): nothing reached a flow.
    dryRun:
      (record.answer?.body as { dryRun?: unknown } | null | undefined)?.dryRun === true ||
      record.attempts.some((a) => a.sessionId === 'dry-run'),
  };
}

/**
 * The last error, or for a request refused on receipt before refusals stored one (issue 10), the
 * refusal kept in its routing explanation: a failed delivery always says why.
 */
function lastErrorOf(record: DeliveryRecord): DeliveryRecord['lastError'] {
  if (record.lastError !== null || record.state !== 'failed') return record.lastError;
  const refused = record.explanation?.error;
  return refused ? { code: refused.code, message: refused.message } : null;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The whole record: the stored request (body as base64, and as text when it is UTF-8), attempts. */
function detailView(record: DeliveryRecord) {
  const { request } = record;
  const body = Buffer.from(request.bodyBase64, 'base64');
  let bodyText: string | undefined;
  try {
    bodyText = UTF8.decode(body);
  } catch {
    bodyText = undefined;
  }
  return {
    ...summaryView(record),
    mappingVersion: record.mappingVersion,
    request: {
      method: request.method,
      url: request.url,
      headers: request.headers,
      bodyBytes: request.bodyBytes,
      bodyTruncated: request.bodyTruncated,
      bodyBase64: request.bodyBase64,
      ...(bodyText === undefined ? {} : { bodyText }),
    },
    routes: record.routes,
    answer: record.answer,
    explanation: explanationView(record),
    attempts: record.attempts.map(attemptView),
    lease:
      record.lease === null ? null : { owner: record.lease.owner, until: iso(record.lease.until) },
    // A late answer through the request's response_url (respond: slack): what became of it.
    lateAnswer: !record.lateAnswer
      ? null
      : {
          ...record.lateAnswer,
          ...(record.lateAnswer.at === undefined ? {} : { at: iso(record.lateAnswer.at) }),
        },
  };
}

function attemptView(attempt: Attempt) {
  return {
    number: attempt.number,
    startedAt: iso(attempt.startedAt),
    durationMs: attempt.durationMs,
    route: attempt.route,
    flowId: attempt.flowId,
    outcome: attempt.outcome,
    httpStatus: attempt.httpStatus ?? null,
    sessionId: attempt.sessionId ?? null,
    error: attempt.error ?? null,
    ...(attempt.draft ? { draft: true } : {}),
  };
}

/**
 * The routing explanation stored when the delivery was received, with the execute requests its
 * chosen routes make (from the routes and variables stored with it); null when none was stored.
 */
function explanationView(record: DeliveryRecord) {
  const explanation = record.explanation ?? null;
  if (explanation === null) return null;
  return {
    source: record.source,
    ...explanation,
    executions: record.routes.map((r) => ({
      route: r.route,
      flowId: r.flowId,
      request: describeExecute({
        orgId: r.orgId,
        flowId: r.flowId,
        variables: r.variables as Record<string, unknown>,
      }),
    })),
  };
}

function resultView(result: RouteResult) {
  if (!('error' in result)) return result;
  const { route, flowId, error } = result;
  return { route, flowId, error: { code: error.code, message: error.message, ...error.details } };
}

/**
 * The loaded sources, field by field: a CompiledSource also holds the compiled verify block
 * (`verifySpec`, the secrets), which must never be serialized.
 */
function sourcesView(
  set: MappingSet,
  defaultOrgId: string | undefined,
  paused: ReadonlySet<string>,
) {
  const problem = (p: LoadProblem) => ({
    file: p.file,
    message: p.message,
    line: p.line ?? null,
    column: p.column ?? null,
    path: p.path ?? null,
  });
  return {
    sources: [...set.sources.values()].map((s) => ({
      name: s.name,
      file: s.file,
      version: s.version,
      provider: s.provider,
      mode: s.mode,
      dispatch: s.dispatch,
      paused: paused.has(s.name),
      routes: s.routes.map((r) => ({
        name: r.name,
        flowId: r.flowId,
        // The org it executes in: its own, or FLOW_ORG_ID.
        orgId: r.orgId ?? defaultOrgId ?? null,
        limits: r.limits ? limitsView(r.limits) : null,
      })),
    })),
    disabled: [...set.disabled.values()].map((d) => ({
      name: d.name,
      files: d.files,
      reason: d.reason,
      cause: d.cause,
    })),
    errors: set.errors.map(problem),
    warnings: set.warnings.map(problem),
  };
}
