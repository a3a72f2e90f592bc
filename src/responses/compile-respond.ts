import { didYouMean } from '../mappings/did-you-mean';
import { atPath, PathError } from '../path-error';
import { compileTemplateOver } from '../routing/compile-template';
import { compileJsonPath } from '../routing/json-path';
import { escapeFor } from './escape-for';
import { respondPreset } from './respond-presets';
import {
  OUTCOMES,
  type AnswerContext,
  type CompiledRespond,
  type Outcome,
  type OutcomeDef,
  type RenderedAnswer,
  type RespondDef,
} from './types';

const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';

/** The values each outcome knows; a placeholder naming another is a load error. */
const AVAILABLE: Readonly<Record<Outcome, readonly string[]>> = {
  ok: ['deliveryId', 'sessionId', 'result', 'route', 'flow', 'vars'],
  failed: ['deliveryId', 'route', 'flow', 'vars', 'error'],
  refused: ['deliveryId', 'route', 'flow', 'error'],
  ignored: ['deliveryId'],
  running: ['deliveryId', 'route', 'flow', 'vars'],
  queued: ['deliveryId', 'route', 'flow', 'vars', 'error'],
};
const ALL_NAMES = ['deliveryId', 'sessionId', 'result', 'route', 'flow', 'vars', 'error'];

/**
 * Headers a template may not set: the framing (Node computes it), the connection, cookies (a
 * webhook sender is not a browser session), and flowhook's own replay marker.
 */
const RESERVED_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'upgrade',
  'set-cookie',
  'idempotent-replayed',
]);

type Render = (context: AnswerContext) => string;

interface CompiledOutcome {
  readonly status: number | undefined;
  readonly contentType: string;
  readonly headers: readonly (readonly [string, Render])[];
  readonly body: Render;
}

/**
 * Compiles a `respond:` block (after schema validation) into renderers: every template parsed and
 * every placeholder resolved here, at load. `variables`: the names the routes send to the flow
 * (what `vars.NAME` may name). Throws a PathError at the key that cannot be built.
 */
export function compileRespond(def: RespondDef, variables: ReadonlySet<string>): CompiledRespond {
  const written = typeof def === 'string' ? { preset: def } : def;
  const { preset, message } = written;
  if (message !== undefined && preset !== 'twiml') {
    throw new PathError(['message'], 'message is the reply text of preset: twiml; use it with it');
  }
  const base = preset === undefined ? undefined : respondPreset(preset, message);
  const compiled = new Map<Outcome, CompiledOutcome>();
  for (const outcome of OUTCOMES) {
    const own = (written as Partial<Record<Outcome, OutcomeDef>>)[outcome];
    const merged = merge(base?.[outcome], own);
    if (merged === undefined) continue;
    compiled.set(
      outcome,
      atPath([outcome], () => compileOutcome(outcome, merged, variables)),
    );
  }
  for (const key of Object.keys(written)) {
    if (key !== 'preset' && key !== 'message' && !(OUTCOMES as string[]).includes(key)) {
      // The schema refuses these first; kept so a def built in code cannot slip one through.
      const guess = didYouMean(key, OUTCOMES);
      throw new PathError(
        [key],
        `unknown outcome "${key}"${guess ? ` — did you mean "${guess}"?` : ` (outcomes: ${OUTCOMES.join(', ')})`}`,
      );
    }
  }
  return {
    outcomes: new Set(compiled.keys()),
    lateAnswers: preset === 'slack',
    render(outcome, context, status): RenderedAnswer | undefined {
      const answer = compiled.get(outcome);
      if (answer === undefined) return undefined;
      const headers: Record<string, string> = {};
      for (const [name, value] of answer.headers) headers[name] = headerValue(value(context));
      return {
        status: answer.status ?? status,
        contentType: answer.contentType,
        headers,
        body: answer.body(context),
      };
    },
  };
}

/**
 * A preset's outcome with the mapping's override on top: status and body replace, headers add.
 * A body of the other kind (JSON for a text preset) drops the preset's Content-Type with it.
 */
function merge(base: OutcomeDef | undefined, own: OutcomeDef | undefined): OutcomeDef | undefined {
  if (base === undefined || own === undefined) return own ?? base;
  const kindChanged = own.body !== undefined && isText(own.body) !== isText(base.body);
  const baseHeaders = Object.fromEntries(
    Object.entries(base.headers ?? {}).filter(
      ([name]) => !(kindChanged && name.toLowerCase() === 'content-type'),
    ),
  );
  return {
    status: own.status ?? base.status,
    headers: { ...baseHeaders, ...own.headers },
    body: own.body !== undefined ? own.body : base.body,
  };
}

const isText = (body: unknown) => typeof body === 'string';

function compileOutcome(
  outcome: Outcome,
  def: OutcomeDef,
  variables: ReadonlySet<string>,
): CompiledOutcome {
  const reference = referenceFor(outcome, variables);
  let contentType: string | undefined;
  const headers: [string, Render][] = [];
  for (const [name, value] of Object.entries(def.headers ?? {})) {
    const lower = name.toLowerCase();
    if (RESERVED_HEADERS.has(lower)) {
      throw new PathError(['headers', name], `the ${name} header is flowhook's to set`);
    }
    if (lower === 'content-type') {
      if (value.includes('{{')) {
        throw new PathError(['headers', name], 'Content-Type cannot be a template');
      }
      contentType = value;
      continue;
    }
    headers.push([name, atPath(['headers', name], () => compileTemplateOver(value, reference))]);
  }
  const text = isText(def.body) || def.body === undefined;
  contentType ??= text ? TEXT_TYPE : JSON_TYPE;
  const body = atPath(['body'], (): Render => {
    if (def.body === undefined) return () => '';
    if (typeof def.body === 'string') {
      return compileTemplateOver(def.body, reference, escapeFor(contentType as string));
    }
    const tree = compileTree(def.body, reference);
    return (context) => JSON.stringify(tree(context));
  });
  return { status: def.status, contentType, headers, body };
}

/** A JSON body: each string in it is a template (its values escaped by JSON.stringify). */
function compileTree(
  value: unknown,
  reference: (expression: string) => (context: AnswerContext) => unknown,
): (context: AnswerContext) => unknown {
  if (typeof value === 'string') {
    return value.includes('{{') ? compileTemplateOver(value, reference) : () => value;
  }
  if (Array.isArray(value)) {
    const items = value.map((item, i) => atPath([i], () => compileTree(item, reference)));
    return (context) => items.map((item) => item(context));
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).map(
      ([key, item]) => [key, atPath([key], () => compileTree(item, reference))] as const,
    );
    return (context) => {
      // No prototype: a key named __proto__ stays a key.
      const out: Record<string, unknown> = Object.create(null);
      for (const [key, item] of entries) out[key] = item(context);
      return out;
    };
  }
  return () => value;
}

/** Resolves a placeholder for one outcome: a name it knows, vars.NAME of a route, or $… . */
function referenceFor(outcome: Outcome, variables: ReadonlySet<string>) {
  const available = AVAILABLE[outcome];
  return (expression: string): ((context: AnswerContext) => unknown) => {
    if (expression.startsWith('$')) {
      const path = compileJsonPath(expression);
      return (context) => path.first(context.body);
    }
    const dotted = /^vars\.(.+)$/.exec(expression);
    const name = dotted ? 'vars' : expression;
    if (!ALL_NAMES.includes(name) || (name === 'vars' && !dotted)) throw unknownName(expression);
    if (!available.includes(name)) {
      throw new Error(
        `{{ ${expression} }} has no value in the ${outcome} answer (it knows: ${available.join(', ')}, $…)`,
      );
    }
    if (dotted) {
      const variable = dotted[1] as string;
      if (!variables.has(variable)) {
        const guess = didYouMean(variable, variables);
        const known = [...variables].join(', ') || 'none';
        throw new Error(
          `{{ ${expression} }}: no route sends a variable "${variable}"${guess ? ` — did you mean vars.${guess}?` : ` (variables: ${known})`}`,
        );
      }
      return (context) => context.vars?.[variable];
    }
    const key = name as Exclude<keyof AnswerContext, 'body' | 'vars'>;
    return (context) => context[key];
  };
}

function unknownName(expression: string): Error {
  const guess = didYouMean(expression, ALL_NAMES);
  return new Error(
    `{{ ${expression} }} is not a template value${guess ? ` — did you mean {{ ${guess} }}?` : ''} (values: ${ALL_NAMES.map((n) => (n === 'vars' ? 'vars.NAME' : n)).join(', ')}, or a JSONPath $…)`,
  );
}

/**
 * A header value cannot hold line breaks or other control characters (Node refuses them, and a
 * line break would split the header): a value from the request loses them here.
 */
function headerValue(text: string): string {
  return text.replace(/[^\t\x20-\x7e\x80-\xff]/g, '?');
}
