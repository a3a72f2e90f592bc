import { compileCondition } from '../routing/compile-condition';
import { compileVariables } from '../routing/compile-variables';
import { createPreset } from '../verify/create-preset';
import type { VerifySpec } from '../verify/types';
import type { CompiledRoute, CompiledSource, MappingDef } from './types';

/**
 * Turns a validated mapping into the plain objects the request path uses: the verifier, route
 * predicates and variable extractors. Throws an Error naming the route when something cannot be
 * built (bad JSONPath, bad regex, incomplete verify block).
 */
export function compileMapping(
  def: MappingDef,
  meta: { name: string; file: string; version: string },
): CompiledSource {
  const { provider, secret, secrets, ...options } = def.verify;
  const spec = {
    ...options,
    provider,
    secrets: [...(secret !== undefined ? [secret] : []), ...(secrets ?? [])],
  } as VerifySpec;
  let preset;
  try {
    preset = createPreset(spec);
  } catch (error) {
    throw new Error(`verify: ${(error as Error).message}`, { cause: error });
  }
  const seen = new Set<string>();
  const routes = def.routes.map((route, index): CompiledRoute => {
    try {
      if (seen.has(route.name)) throw new Error(`the route name is used twice`);
      seen.add(route.name);
      const conditions = (route.when ?? []).map(compileCondition);
      return {
        name: route.name,
        flowId: route.flow,
        orgId: route.org,
        matches: (request) => conditions.every((condition) => condition(request)),
        extract: compileVariables(route.variables ?? {}),
      };
    } catch (error) {
      throw new Error(`routes[${index}] (${route.name}): ${(error as Error).message}`, {
        cause: error,
      });
    }
  });
  return {
    ...meta,
    provider,
    ...preset,
    dispatch: def.dispatch ?? 'first',
    routes,
  };
}
