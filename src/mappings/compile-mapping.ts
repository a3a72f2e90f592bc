import { atPath, PathError, PathErrors, type KeyPath } from '../path-error';
import { combine, compileCondition, type CompiledCondition } from '../routing/compile-condition';
import {
  compileVariables,
  type VariableDef,
  type VariableExtractor,
} from '../routing/compile-variables';
import { compileJsonPath } from '../routing/json-path';
import type { RequestView } from '../routing/request-view';
import { compileRespond } from '../responses/compile-respond';
import { createPreset } from '../verify/create-preset';
import type { VerifySpec } from '../verify/types';
import { compileLimits, describeLimits, sameLimits } from '../limits/compile-limits';
import type { DeclaredLimits } from '../limits/types';
import type { CompiledRoute, CompiledSource, MappingDef, RateLimit } from './types';

/**
 * Turns a validated mapping into the plain objects the request path uses: the verifier, route
 * predicates and variable extractors. Every key that cannot be built (bad JSONPath, bad regex,
 * incomplete verify block, a route name used twice…) is collected, and all of them are thrown
 * together as PathErrors: one run shows every problem of the file, not the first.
 */
export function compileMapping(
  def: MappingDef,
  meta: { name: string; file: string; version: string },
): CompiledSource {
  const problems: PathError[] = [];
  /** `build` at `path`, or undefined with its problem kept. */
  const part = <T>(path: KeyPath, build: () => T): T | undefined => {
    try {
      return atPath(path, build);
    } catch (error) {
      problems.push(error as PathError); // atPath makes every error a PathError
      return undefined;
    }
  };
  const { provider, secret, secrets, ...options } = def.verify;
  // A secret of spaces is as good as none (issue 9, item 9): refused here, where the key path is known.
  if (typeof secret === 'string') part([], () => blankSecret(secret, ['verify', 'secret']));
  (secrets ?? []).forEach((value, i) =>
    part([], () => blankSecret(value, ['verify', 'secrets', i])),
  );
  const spec = {
    ...options,
    provider,
    secrets: [...(secret !== undefined ? [secret] : []), ...(secrets ?? [])],
  } as VerifySpec;
  const preset = part(['verify'], () => createPreset(spec));
  const seen = new Set<string>();
  const sourceLimits: DeclaredLimits | undefined = def.limits
    ? part(['limits'], () => ({ ...compileLimits(def.limits!), declaredAt: 'limits' }))
    : undefined;
  // One flow, one budget: two routes of this file executing one flow must not ask for two.
  const limitsByFlow = new Map<string, DeclaredLimits>();
  const routes = def.routes.map((route, index): CompiledRoute | undefined => {
    const at = (path: KeyPath) => ['routes', index, ...path];
    if (seen.has(route.name)) {
      problems.push(new PathError(at(['name']), `the route name "${route.name}" is used twice`));
    }
    seen.add(route.name);
    const limits: DeclaredLimits | undefined = route.limits
      ? part(at(['limits']), () => ({
          ...compileLimits(route.limits!),
          declaredAt: `routes[${index}].limits`,
        }))
      : sourceLimits;
    const flow = JSON.stringify([route.org ?? null, route.flow]);
    const earlier = limitsByFlow.get(flow);
    if (limits && earlier && !sameLimits(limits, earlier)) {
      problems.push(
        new PathError(
          at(route.limits ? ['limits'] : []),
          `flow "${route.flow}" is limited to ${describeLimits(limits)} here (${limits.declaredAt}) but to ${describeLimits(earlier)} at ${earlier.declaredAt}; a flow has one budget: declare the same limits in both places, or in one only`,
        ),
      );
    }
    if (limits && !earlier) limitsByFlow.set(flow, limits);
    const conditions = (route.when ?? []).map((condition, i) =>
      part(at(['when', i]), () => compileCondition(condition)),
    );
    const extract = compileEveryVariable(route.variables ?? {}, at(['variables']), part);
    if (extract === undefined || conditions.some((c) => c === undefined)) return undefined;
    return {
      name: route.name,
      flowId: route.flow,
      orgId: route.org,
      when: combine(true, conditions as CompiledCondition[]),
      extract,
      ...(limits ? { limits } : {}),
    };
  });
  const replyWithin = part(['replyWithin'], () => replyWithinMs(def, provider));
  const idempotencyKey = def.idempotency
    ? part(['idempotency', 'key'], () => compileKey(def.idempotency!.key))
    : undefined;
  const respond =
    def.respond === undefined
      ? undefined
      : part(['respond'], () =>
          compileRespond(
            def.respond!,
            new Set(def.routes.flatMap((route) => Object.keys(route.variables ?? {}))),
          ),
        );
  if (problems.length > 0) throw new PathErrors(problems);
  return {
    ...meta,
    provider,
    verifySpec: spec,
    ...preset!,
    dispatch: def.dispatch ?? 'first',
    mode: def.mode ?? 'sync',
    replyWithinMs: replyWithin!,
    ...(idempotencyKey ? { idempotencyKey } : {}),
    jsonFields: def.body?.jsonFields ?? ['payload'],
    rateLimit: rateLimitOf(def, provider),
    routes: routes as CompiledRoute[],
    ...(respond === undefined ? {} : { respond }),
  };
}

/**
 * A route's variables as one extractor. When the block does not compile, each variable is
 * compiled alone to find every broken one (compileVariables stops at the first).
 */
function compileEveryVariable(
  defs: Readonly<Record<string, VariableDef>>,
  path: KeyPath,
  part: <T>(path: KeyPath, build: () => T) => T | undefined,
): VariableExtractor | undefined {
  try {
    return compileVariables(defs);
  } catch (error) {
    const alone = Object.entries(defs).map(([name, def]) =>
      part(path, () => compileVariables({ [name]: def })),
    );
    // Each compiles alone: the block's own error is the one to show.
    if (alone.every((extract) => extract !== undefined)) {
      part(path, () => {
        throw error;
      });
    }
    return undefined;
  }
}

/**
 * Sources whose "verified" means anyone (none) or anyone who read the page a form token is on
 * (token) get a limit unless the file sets one: every request to them is stored (issue 9, item 4).
 */
const DEFAULT_RATE_LIMIT: Readonly<Record<string, RateLimit>> = {
  none: { requests: 60, perSeconds: 60 },
  token: { requests: 60, perSeconds: 60 },
};

const SECONDS = { s: 1, m: 60, h: 3600 } as const;

function rateLimitOf(def: MappingDef, provider: string): RateLimit | undefined {
  const limit = def.rateLimit;
  if (limit === 'off') return undefined;
  if (limit === undefined) return DEFAULT_RATE_LIMIT[provider];
  const match = /^(\d+)(s|m|h)$/.exec(limit.per) as RegExpExecArray; // the schema checked it
  return {
    requests: limit.requests,
    perSeconds: Number(match[1]) * SECONDS[match[2] as keyof typeof SECONDS],
  };
}

/**
 * `idempotency.key`: a header, or a JSONPath whose first match (text or number) is the key. An
 * empty or blank key is no key (issue 9, item 14): as one key it would merge every delivery that
 * carries it, each answered with the first one's answer and none of them run.
 */
function compileKey(
  key: { header: string } | { path: string },
): (request: RequestView) => string | undefined {
  if ('header' in key) {
    const name = key.header.toLowerCase();
    return (request) => nonBlank(request.headers[name]);
  }
  const path = compileJsonPath(key.path);
  return (request) => {
    const value = path.first(request.body);
    return typeof value === 'string' || typeof value === 'number'
      ? nonBlank(String(value))
      : undefined;
  };
}

function nonBlank(key: string | undefined): string | undefined {
  return key === undefined || key.trim() === '' ? undefined : key;
}

/**
 * How long a sync sender may wait. Senders give up on their own clock (GitHub after 10 s, Slack
 * after 3 s, Shopify after 5 s), so the default leaves a margin under it.
 */
const REPLY_WITHIN_BY_PROVIDER: Readonly<Record<string, number>> = {
  github: 8000,
  slack: 2500,
  shopify: 4000,
};

function replyWithinMs(def: { mode?: string; replyWithin?: string }, provider: string): number {
  const text = def.replyWithin;
  if (text !== undefined && def.mode === 'async') {
    // It would be silently ignored: an async source answers 202 as soon as the delivery is stored.
    throw new Error(
      'replyWithin applies to mode: sync only (an async source answers 202 once the delivery is stored); remove it, or set mode: sync',
    );
  }
  if (text === undefined) return REPLY_WITHIN_BY_PROVIDER[provider] ?? 8000;
  const match = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text) as RegExpExecArray; // the schema checked it
  return Math.round(Number(match[1]) * (match[2] === 's' ? 1000 : 1));
}

function blankSecret(value: unknown, path: readonly (string | number)[]): void {
  if (typeof value === 'string' && value.trim() === '') {
    throw new PathError(path, 'the secret is empty (only whitespace); set a real secret');
  }
}
