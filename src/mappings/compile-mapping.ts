import { atPath, PathError } from '../path-error';
import { combine, compileCondition } from '../routing/compile-condition';
import { compileVariables } from '../routing/compile-variables';
import { createPreset } from '../verify/create-preset';
import type { VerifySpec } from '../verify/types';
import type { CompiledRoute, CompiledSource, MappingDef } from './types';

/**
 * Turns a validated mapping into the plain objects the request path uses: the verifier, route
 * predicates and variable extractors. Throws a PathError at the key that cannot be built (bad
 * JSONPath, bad regex, incomplete verify block, a route name used twice).
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
  const preset = atPath(['verify'], () => createPreset(spec));
  const seen = new Set<string>();
  const routes = def.routes.map((route, index): CompiledRoute =>
    atPath(['routes', index], () => {
      if (seen.has(route.name)) {
        throw new PathError(['name'], `the route name "${route.name}" is used twice`);
      }
      seen.add(route.name);
      return {
        name: route.name,
        flowId: route.flow,
        orgId: route.org,
        when: combine(
          true,
          (route.when ?? []).map((condition, i) =>
            atPath(['when', i], () => compileCondition(condition)),
          ),
        ),
        extract: atPath(['variables'], () => compileVariables(route.variables ?? {})),
      };
    }),
  );
  return {
    ...meta,
    provider,
    ...preset,
    dispatch: def.dispatch ?? 'first',
    jsonFields: def.body?.jsonFields ?? ['payload'],
    routes,
  };
}
