import express, { type Request, type Response, type Router } from 'express';
import { body, checkExact, matchedData, param } from 'express-validator';
import {
  createBulkReplayJobs,
  type BulkFilter,
  type BulkReplayJobs,
} from '../console/bulk-replay-jobs';
import type { DeliveryFeed } from '../console/delivery-feed';
import {
  compileDraft,
  evaluateDraft,
  trialOfDelivery,
  type DraftOutcome,
  type TrialRequest,
} from '../console/evaluate-draft';
import { saveMapping, versionOf } from '../console/save-mapping';
import { DELIVERY_STATES, type DeliveryStore } from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { Logger } from '../logger';
import { readMappingFile } from '../mappings/load-file';
import type { MappingSet } from '../mappings/types';
import { replayDelivery, type ReplayDeps } from '../pipeline/replay-delivery';
import { sinceMs, summaryView } from './admin-routes';
import { invalidRequest, rejectInvalid } from './reject-invalid';

type Env = Readonly<Record<string, string | undefined>>;

export interface ConsoleApiDeps {
  readonly store: DeliveryStore;
  readonly mappings: () => MappingSet;
  readonly replayDeps: ReplayDeps;
  readonly feed: DeliveryFeed;
  readonly logger: Logger;
  readonly defaultOrgId: string | undefined;
  /** CONSOLE_EDIT=on: a draft may be saved to MAPPINGS_DIR. */
  readonly edit: boolean;
  /** Whether hot reload picks saved files up (MAPPINGS_WATCH is not off). */
  readonly watching: boolean;
  /** ${VAR}s of drafts are read from here (the server's environment). */
  readonly env: Env;
  readonly now?: () => number;
}

/** Live streams open at once, across all clients. */
export const MAX_STREAMS = 50;
const HEARTBEAT_MS = 15_000;
/** The largest draft mapping or pasted payload accepted. */
const DRAFT_LIMIT = '512kb';

export interface ConsoleApi {
  readonly router: Router;
  readonly jobs: BulkReplayJobs;
  /** Ends every live stream (shutdown: an open stream would hold the server open). */
  readonly closeStreams: () => void;
}

/**
 * The admin endpoints the console needs beyond the delivery log (mounted under /api, behind the
 * admin guard, before adminRouter): the live stream of deliveries, bulk replay jobs, the
 * playground (evaluate a draft, replay one delivery with it, read and save a mapping file) and
 * each source's recent activity. Documented in docs/admin-api.md.
 */
export function consoleApiRouter(deps: ConsoleApiDeps): ConsoleApi {
  const router = express.Router();
  const now = deps.now ?? Date.now;
  const jobs = createBulkReplayJobs(
    deps.store,
    (id) => replayDelivery(id, deps.replayDeps),
    deps.logger,
  );
  const streams = new Set<Response>();
  const json = express.json({ limit: DRAFT_LIMIT });

  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/deliveries/stream', (req: Request, res: Response) => {
    if (streams.size >= MAX_STREAMS) {
      throw new FlowhookError('too_many_streams', `${MAX_STREAMS} live streams are open already`);
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    res.write('retry: 2000\n\n');
    streams.add(res);
    const unsubscribe = deps.feed.subscribe((record) => {
      res.write(`event: delivery\ndata: ${JSON.stringify(summaryView(record))}\n\n`);
    });
    const heartbeat = setInterval(() => res.write(': keep-alive\n\n'), HEARTBEAT_MS);
    req.on('close', () => {
      clearInterval(heartbeat);
      unsubscribe();
      streams.delete(res);
    });
  });

  router.post(
    '/replays',
    json,
    checkExact(filterChecks(), { locations: ['body'], message: 'is not a field of this endpoint' }),
    rejectInvalid,
    (req: Request, res: Response) => {
      const input = matchedData<BulkFilter & { status?: BulkFilter['state'] }>(req, {
        locations: ['body'],
      });
      const filter: BulkFilter = {
        source: input.source,
        state: input.status,
        route: input.route,
        since: input.since,
      };
      res.status(202).json(jobs.start(filter));
    },
  );

  router.get('/replays', (_req: Request, res: Response) => {
    res.json({ items: jobs.list() });
  });

  const jobId = param('job').isUUID().withMessage('must be a job id (a UUID)');
  router.get('/replays/:job', jobId, rejectInvalid, (req: Request, res: Response) => {
    res.json(knownJob(jobs.get(String(req.params.job)), String(req.params.job)));
  });
  router.post('/replays/:job/cancel', jobId, rejectInvalid, (req: Request, res: Response) => {
    res.json(knownJob(jobs.cancel(String(req.params.job)), String(req.params.job)));
  });

  router.get('/sources/activity', async (_req: Request, res: Response) => {
    const hourAgo = now() - 3_600_000;
    const items = await Promise.all(
      [...deps.mappings().sources.keys()].map(async (name) => {
        const [last, hour] = await Promise.all([
          deps.store.list({ source: name, limit: 1 }),
          deps.store.list({ source: name, since: hourAgo, limit: 500 }),
        ]);
        const record = last.items[0];
        return {
          source: name,
          lastDelivery:
            record === undefined
              ? null
              : { id: record.id, receivedAt: iso(record.receivedAt), state: record.state },
          lastHour: hour.items.length,
          lastHourCapped: hour.nextCursor !== null,
        };
      }),
    );
    res.json({ items });
  });

  const sourceName = param('name')
    .matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
    .withMessage('must be a source name');

  router.get('/sources/:name/mapping', sourceName, rejectInvalid, (req: Request, res: Response) => {
    const { set, file } = fileOf(deps.mappings(), String(req.params.name));
    const text = readMappingFile(set.dir, file);
    if (typeof text !== 'string') {
      throw new FlowhookError('unknown_source', `${file} cannot be read (${text.code})`);
    }
    res.json({
      source: req.params.name,
      file,
      version: versionOf(text),
      text,
      editable: deps.edit,
    });
  });

  router.put(
    '/sources/:name/mapping',
    sourceName,
    json,
    checkExact(
      [
        body('text').isString().withMessage('must be the mapping file text'),
        body('baseVersion')
          .optional()
          .matches(/^[0-9a-f]{12}$/)
          .withMessage('must be the version the draft was opened at'),
      ],
      { locations: ['body'], message: 'is not a field of this endpoint' },
    ),
    rejectInvalid,
    (req: Request, res: Response) => {
      const name = String(req.params.name);
      if (!deps.edit) {
        throw new FlowhookError(
          'console_edit_off',
          'saving mappings from the console needs CONSOLE_EDIT=on',
        );
      }
      const { set, file } = fileOf(deps.mappings(), name);
      const { text, baseVersion } = req.body as { text: string; baseVersion?: string };
      const current = readMappingFile(set.dir, file);
      if (
        baseVersion !== undefined &&
        typeof current === 'string' &&
        versionOf(current) !== baseVersion
      ) {
        throw new FlowhookError(
          'mapping_changed',
          `${file} changed on disk since the draft was opened (now version ${versionOf(current)}); reload it and apply the draft again`,
        );
      }
      const draft = compileDraft(file, text, deps.env, { placeholders: false });
      if (!draft.ok) throw invalidMapping(file, draft.problems);
      if (draft.source.name !== name) {
        throw invalidMapping(file, [
          { file, message: `the draft defines source "${draft.source.name}", not "${name}"` },
        ]);
      }
      const saved = saveMapping(set.dir, file, text);
      deps.logger.info(
        { source: name, file, version: saved.version, backup: saved.backup },
        'mapping saved from the console',
      );
      res.json({
        ...saved,
        reload: deps.watching ? 'hot reload' : 'restart needed (MAPPINGS_WATCH=off)',
      });
    },
  );

  router.post(
    '/playground/evaluate',
    json,
    checkExact(playgroundChecks(), {
      locations: ['body'],
      message: 'is not a field of this endpoint',
    }),
    rejectInvalid,
    async (req: Request, res: Response) => {
      const input = req.body as PlaygroundInput;
      if ((input.deliveryId === undefined) === (input.request === undefined)) {
        throw invalidRequest([
          {
            name: 'deliveryId',
            in: 'body',
            message: 'give either deliveryId (a stored delivery) or request (a pasted payload)',
          },
        ]);
      }
      const set = deps.mappings();
      const { file } = fileOf(set, input.source);
      // Without a draft: the mapping loaded now (what a replay would use).
      const loaded = input.mapping === undefined ? set.sources.get(input.source) : undefined;
      const text = input.mapping ?? readMappingFile(set.dir, file);
      if (loaded === undefined && typeof text !== 'string') {
        throw new FlowhookError('unknown_source', `${file} cannot be read (${text.code})`);
      }
      const draft: DraftOutcome = loaded
        ? { ok: true, source: loaded, unset: [] }
        : compileDraft(file, text as string, deps.env, { placeholders: true });
      if (!draft.ok) {
        res.json({ ok: false, problems: draft.problems.map(problemView), explanation: null });
        return;
      }
      const trial = await trialOf(deps.store, input);
      const explanation = evaluateDraft(draft.source, trial, deps.defaultOrgId);
      res.json({
        ok: explanation.matched.length > 0 && explanation.error === undefined,
        problems: [],
        unset: draft.unset,
        version: draft.source.version,
        explanation,
      });
    },
  );

  router.post(
    '/playground/replay',
    json,
    checkExact(
      [
        body('source')
          .isString()
          .matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
          .withMessage('must be a source name'),
        body('mapping').isString().withMessage('must be the draft mapping text'),
        body('deliveryId').isUUID().withMessage('must be a delivery id (a UUID)'),
      ],
      { locations: ['body'], message: 'is not a field of this endpoint' },
    ),
    rejectInvalid,
    async (req: Request, res: Response) => {
      const input = req.body as { source: string; mapping: string; deliveryId: string };
      const { file } = fileOf(deps.mappings(), input.source);
      const draft = compileDraft(file, input.mapping, deps.env, { placeholders: false });
      if (!draft.ok) throw invalidMapping(file, draft.problems);
      const record = await deps.store.get(input.deliveryId);
      if (record !== undefined && record.source !== draft.source.name) {
        throw new FlowhookError(
          'invalid_request',
          `delivery ${input.deliveryId} belongs to source "${record.source}", not "${draft.source.name}"`,
        );
      }
      // The draft stands in for its source for this one replay; nothing else sees it.
      const current = deps.mappings();
      const sources = new Map(current.sources);
      sources.set(draft.source.name, draft.source);
      const outcome = await replayDelivery(input.deliveryId, {
        ...deps.replayDeps,
        mappings: () => ({ ...current, sources }),
      });
      deps.logger.info(
        {
          deliveryId: input.deliveryId,
          source: draft.source.name,
          mappingVersion: draft.source.version,
          state: outcome.record.state,
        },
        'delivery replayed with a draft mapping',
      );
      res.json({
        deliveryId: input.deliveryId,
        state: outcome.record.state,
        mappingVersion: outcome.record.mappingVersion,
        draft: true,
        attempts: outcome.attempts.map((a) => ({ ...a, startedAt: iso(a.startedAt) })),
      });
    },
  );

  return {
    router,
    jobs,
    closeStreams: () => {
      for (const res of streams) res.end();
      streams.clear();
    },
  };
}

const iso = (ms: number) => new Date(ms).toISOString();

interface PlaygroundInput {
  source: string;
  mapping?: string;
  deliveryId?: string;
  request?: { body: string; headers?: Record<string, string>; query?: Record<string, string> };
}

function playgroundChecks() {
  return [
    body('source')
      .isString()
      .matches(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/)
      .withMessage('must be a source name'),
    body('mapping').optional().isString().withMessage('must be the draft mapping text'),
    body('deliveryId').optional().isUUID().withMessage('must be a delivery id (a UUID)'),
    body('request').optional().isObject().withMessage('must be {body, headers, query}'),
    body('request.body').optional().isString().withMessage('must be the payload as text'),
    body('request.headers')
      .optional()
      .isObject()
      .withMessage('must be an object of header names to values')
      .custom(stringValues),
    body('request.query')
      .optional()
      .isObject()
      .withMessage('must be an object of names to values')
      .custom(stringValues),
  ];
}

function stringValues(value: Record<string, unknown>): true {
  for (const [name, item] of Object.entries(value)) {
    if (typeof item !== 'string') throw new Error(`${name}: must be a string`);
  }
  return true;
}

/** The body fields of a bulk replay: the list's filters, in the list's names. */
function filterChecks() {
  const text = (name: string) =>
    body(name)
      .optional()
      .isString()
      .isLength({ min: 1, max: 200 })
      .withMessage('must be 1 to 200 characters');
  return [
    text('source'),
    body('status')
      .optional()
      .isIn(DELIVERY_STATES)
      .withMessage(`must be one of ${DELIVERY_STATES.join(', ')}`),
    text('route'),
    body('since')
      .optional()
      .custom((value: unknown) => sinceMs(String(value)) !== undefined)
      .withMessage('must be an ISO 8601 date (2024-05-01, 2024-05-01T10:00:00Z) or epoch ms')
      .bail()
      .customSanitizer((value: unknown) => sinceMs(String(value))),
  ];
}

async function trialOf(store: DeliveryStore, input: PlaygroundInput): Promise<TrialRequest> {
  if (input.deliveryId !== undefined) {
    const record = await store.get(input.deliveryId);
    if (record === undefined) {
      throw new FlowhookError('delivery_not_found', `no delivery with id ${input.deliveryId}`);
    }
    return trialOfDelivery(record);
  }
  const pasted = input.request ?? { body: '' };
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(pasted.headers ?? {}))
    headers[name.toLowerCase()] = value;
  const body = Buffer.from(pasted.body ?? '', 'utf8');
  headers['content-type'] ??= looksLikeJson(pasted.body ?? '')
    ? 'application/json'
    : 'application/x-www-form-urlencoded';
  return { body, headers, query: { ...(pasted.query ?? {}) } };
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** The file a source was loaded from (serving, disabled or broken). */
function fileOf(set: MappingSet, name: string): { set: MappingSet; file: string } {
  const file = set.sources.get(name)?.file ?? set.disabled.get(name)?.files[0];
  if (file === undefined) {
    throw new FlowhookError('unknown_source', `no mapping file defines source "${name}"`);
  }
  return { set, file };
}

function knownJob<T>(job: T | undefined, id: string): T {
  if (job === undefined) throw new FlowhookError('job_not_found', `no bulk replay job ${id}`);
  return job;
}

function problemView(p: {
  file: string;
  message: string;
  line?: number;
  column?: number;
  path?: string;
}) {
  return {
    file: p.file,
    message: p.message,
    line: p.line ?? null,
    column: p.column ?? null,
    path: p.path ?? null,
  };
}

function invalidMapping(
  file: string,
  problems: readonly {
    file: string;
    message: string;
    line?: number;
    column?: number;
    path?: string;
  }[],
): FlowhookError {
  return new FlowhookError(
    'invalid_mapping',
    `${file}: ${problems[0]?.message ?? 'does not load'}`,
    {
      problems: problems.map(problemView),
    },
  );
}
