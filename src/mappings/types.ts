import type { CompiledCondition, ConditionDef } from '../routing/compile-condition';
import type { RequestView } from '../routing/request-view';
import type { VariableDef, VariableExtractor } from '../routing/compile-variables';
import type { CompiledRespond, RespondDef } from '../responses/types';
import type { AfterVerify, Verifier, VerifySpec } from '../verify/types';
import type { DeclaredLimits, LimitsDef } from '../limits/types';

/** A mapping file as written (after `${VAR}` substitution and schema validation). */
export interface MappingDef {
  source?: string;
  verify: { provider: string; secret?: string; secrets?: string[] } & Record<string, unknown>;
  mode?: 'sync' | 'async';
  replyWithin?: string;
  dispatch?: 'first' | 'all';
  idempotency?: { key: { header: string } | { path: string } };
  body?: { jsonFields?: string[] };
  /** Defaults for the routes that declare no limits of their own. */
  limits?: LimitsDef;
  /** Requests per client address; `off` = none. Default: 60 per 1m for none/token. */
  rateLimit?: { requests: number; per: string } | 'off';
  respond?: RespondDef;
  routes: RouteDef[];
}

/** A source's request rate limit, per client address. */
export interface RateLimit {
  readonly requests: number;
  /** The window, in whole seconds. */
  readonly perSeconds: number;
}

export interface RouteDef {
  name: string;
  when?: ConditionDef[];
  flow: string;
  org?: string;
  variables?: Record<string, VariableDef>;
  limits?: LimitsDef;
}

/** A route ready for the request path: predicates and extractors built, nothing left to parse. */
export interface CompiledRoute {
  readonly name: string;
  readonly flowId: string;
  /** The route's own org; undefined = FLOW_ORG_ID. */
  readonly orgId: string | undefined;
  /** All of the route's `when` conditions (an empty list always holds). */
  readonly when: CompiledCondition;
  readonly extract: VariableExtractor;
  /** The flow's limits as this route declares them (its own, or the source's); none = unlimited here. */
  readonly limits?: DeclaredLimits;
}

export interface CompiledSource extends AfterVerify {
  readonly name: string;
  /** The file it came from, relative to MAPPINGS_DIR. */
  readonly file: string;
  /** Short content hash of the file, recorded with each delivery. */
  readonly version: string;
  readonly provider: string;
  /** The `verify:` block as compiled (its secrets: never logged, answered or stored). */
  readonly verifySpec: VerifySpec;
  readonly verify: Verifier;
  readonly dispatch: 'first' | 'all';
  readonly mode: 'sync' | 'async';
  /** sync: how long the sender may wait, in ms (the mapping's replyWithin or the preset's default). */
  readonly replyWithinMs: number;
  /** The source's own idempotency key, read after parsing; undefined = the preset's delivery id. */
  readonly idempotencyKey?: (request: RequestView) => string | undefined;
  /** Form fields that hold JSON and are parsed (Slack's `payload`). */
  readonly jsonFields: readonly string[];
  /** Requests per client address (429 past it); undefined = no limit. */
  readonly rateLimit: RateLimit | undefined;
  readonly routes: readonly CompiledRoute[];
  /** The mapping's own answers per outcome (`respond:`); undefined = flowhook's answers. */
  readonly respond?: CompiledRespond;
}

/** Why a source cannot take requests; the answer is 503 with this reason (no secret in it). */
export interface DisabledSource {
  readonly name: string;
  readonly files: readonly string[];
  readonly reason: string;
  /** missing-env: waits for an environment variable; invalid: the file needs fixing. */
  readonly cause: 'missing-env' | 'invalid';
}

export interface LoadProblem {
  readonly file: string;
  /** The whole problem in one line: "line 12, column 9: routes[0].when[0]: unknown key …". */
  readonly message: string;
  readonly line?: number;
  readonly column?: number;
  /** The key path, e.g. routes[0].when[0].equal. */
  readonly path?: string;
  /**
   * Set when the problem is an unset `${VAR}` (this name): the source waits for it rather than
   * needing a fix, so it is not an error (but is for `flowhook validate --strict`).
   */
  readonly variable?: string;
}

/** The result of loading MAPPINGS_DIR: a name lookup that does not grow with the number of sources. */
export interface MappingSet {
  readonly dir: string;
  readonly sources: ReadonlyMap<string, CompiledSource>;
  readonly disabled: ReadonlyMap<string, DisabledSource>;
  /** Files that could not be used (syntax, schema, compile errors, duplicates). */
  readonly errors: readonly LoadProblem[];
  /** Usable but worth a look (`provider: none`). */
  readonly warnings: readonly LoadProblem[];
  /**
   * Each `${VAR}` a file names that is unset, where it is first used, with a "did you mean" when
   * a set variable is one edit away. `mappingProblems` lists them with the errors.
   */
  readonly unsetVariables: readonly LoadProblem[];
  /** Loaded with placeholders (tools): each source's unset variables, standing as their names. */
  readonly unset?: ReadonlyMap<string, readonly string[]>;
  /**
   * Every configured secret of every file, enabled or not: redacted by value from stored requests
   * and from answers (issue 9, item 6). Never logged or answered.
   */
  readonly secrets?: readonly string[];
  /** When this set was loaded (ms): the mappings' reload time in /metrics. */
  readonly loadedAt?: number;
}
