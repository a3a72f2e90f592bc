import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import { checkExact, param, query } from 'express-validator';
import type { DeliveryStore } from '../deliveries/types';
import { FlowhookError } from '../errors';
import type { FlowLimiter } from '../limits/create-flow-limiter';
import { flowKey, PLATFORM_KEY } from '../limits/flow-key';
import { flowLimitsOf } from '../limits/flow-limits-of';
import type { PauseKind } from '../limits/types';
import { wakeWaiting } from '../limits/wake-waiting';
import type { Logger } from '../logger';
import type { MappingSet } from '../mappings/types';
import { limitsView } from '../limits/limits-view';

export interface LimitsDeps {
  readonly config: { readonly flowOrgId: string | undefined };
  readonly store: DeliveryStore;
  readonly mappings: () => MappingSet;
  readonly logger: Logger;
  readonly limiter: FlowLimiter;
  readonly onQueued?: () => void;
  readonly now?: () => number;
}

type Validate = (req: Request, res: Response, next: NextFunction) => void;

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

/**
 * Pause and resume, per source and per flow, and the state of every flow's budget and circuit
 * (under /api, behind ADMIN_TOKEN). A pause is kept in the store: it holds on every instance that
 * shares it and survives a restart.
 */
export function limitsRouter(deps: LimitsDeps, rejectInvalid: Validate): Router {
  const router = express.Router();
  const now = deps.now ?? Date.now;
  const store = deps.limiter.store;

  const setPause = async (kind: PauseKind, name: string, paused: boolean, shown: object) => {
    const changed = paused ? await store.pause(kind, name, now()) : await store.resume(kind, name);
    // What waited for the pause to end runs now rather than at its next look.
    const woken = !paused && changed ? await wakeWaiting(deps.store, kind, name, now()) : 0;
    if (woken > 0) deps.onQueued?.();
    deps.logger.info(
      { ...shown, changed, ...(paused ? {} : { woken }) },
      `${kind} ${paused ? 'paused' : 'resumed'}${changed ? '' : ' (it already was)'}`,
    );
    return { ...shown, paused, changed, ...(paused ? {} : { woken }) };
  };

  const sourceName = param('name')
    .isLength({ min: 1, max: 128 })
    .withMessage('must be a source name (1 to 128 characters)');
  for (const action of ['pause', 'resume'] as const) {
    router.post(
      `/sources/:name/${action}`,
      sourceName,
      rejectInvalid,
      async (req: Request, res: Response) => {
        const name = String(req.params.name);
        const set = deps.mappings();
        if (!set.sources.has(name) && !set.disabled.has(name)) {
          throw new FlowhookError('unknown_source', `no source named "${name}"`);
        }
        res.json(await setPause('source', name, action === 'pause', { source: name }));
      },
    );
    router.post(
      `/flows/:flow/${action}`,
      checkExact(
        [
          param('flow')
            .isLength({ min: 1, max: 200 })
            .withMessage('must be a flow id (1 to 200 characters)'),
          query('org')
            .optional()
            .isString()
            .withMessage('must be given once')
            .bail()
            .isLength({ min: 1, max: 200 })
            .withMessage('must be an org id (1 to 200 characters)'),
        ],
        { locations: ['query'], message: 'is not a parameter of this endpoint' },
      ),
      rejectInvalid,
      async (req: Request, res: Response) => {
        const flowId = String(req.params.flow);
        const orgId = (req.query.org as string | undefined) ?? deps.config.flowOrgId;
        if (orgId === undefined) {
          throw new FlowhookError(
            'invalid_request',
            'query parameter org: is required when FLOW_ORG_ID is not set',
            { parameters: [{ name: 'org', in: 'query', message: 'is required' }] },
          );
        }
        res.json(
          await setPause('flow', flowKey(orgId, flowId), action === 'pause', {
            flow: flowKey(orgId, flowId),
            orgId,
            flowId,
          }),
        );
      },
    );
  }

  router.get('/limits', async (_req: Request, res: Response) => {
    const at = now();
    const [states, pauses] = await Promise.all([store.flows(at), store.pauses()]);
    const configured = flowLimitsOf(deps.mappings(), deps.config.flowOrgId);
    const byFlow = new Map(states.map((s) => [s.flow, s]));
    const pausedFlows = new Set(pauses.filter((p) => p.kind === 'flow').map((p) => p.name));
    const names = [...new Set([...configured.keys(), ...byFlow.keys(), ...pausedFlows])].sort();
    res.json({
      platform: limitsView(deps.limiter.platform),
      flows: names.map((flow) => {
        const state = byFlow.get(flow);
        const limits = flow === PLATFORM_KEY ? deps.limiter.platform : configured.get(flow);
        return {
          flow,
          limits: limits ? limitsView(limits) : null,
          paused: pausedFlows.has(flow),
          circuit: state?.circuit ?? 'closed',
          circuitChangedAt: iso(state?.circuitChangedAt ?? null),
          openUntil: iso(state?.openUntil ?? null),
          throttledUntil: iso(state?.blockedUntil ?? null),
          running: state?.running ?? 0,
          window: { calls: state?.windowCalls ?? 0, failures: state?.windowFailures ?? 0 },
        };
      }),
      pauses: pauses.map((p) => ({ kind: p.kind, name: p.name, pausedAt: iso(p.pausedAt) })),
    });
  });

  return router;
}
