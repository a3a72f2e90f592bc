import type { Explanation } from '../cli/explain-delivery';
import type { CompiledSource } from '../mappings/types';
import type { AnswerContext, Outcome, RenderedAnswer } from './types';

/** What the sender would get, as `flowhook test` shows it (no flow runs: sessions are named). */
export interface AnswerPreview {
  readonly outcome: Outcome;
  /** The mapping's `respond:` answer; undefined = flowhook's own for this outcome. */
  readonly answer: RenderedAnswer | undefined;
}

/**
 * The outcome a request would have and, when the source's `respond:` covers it, the rendered
 * answer. A run that would happen is shown as `ok` (or `queued` for mode: async) with the
 * session and result standing as `<sessionId>` and `<result>`.
 */
export function previewAnswer(
  source: CompiledSource,
  explanation: Explanation,
  deliveryId: string,
  body: unknown,
): AnswerPreview {
  const chosen = explanation.executions;
  const vars: Record<string, unknown> = Object.create(null);
  for (const execution of [...chosen].reverse()) {
    Object.assign(vars, execution.request.body as Record<string, unknown>);
  }
  const joined = (values: string[]) => (values.length > 0 ? values.join(', ') : undefined);
  const base: AnswerContext = {
    deliveryId,
    body,
    route: joined(explanation.matched),
    flow: joined(
      explanation.matched.map(
        (name) => source.routes.find((route) => route.name === name)?.flowId ?? '',
      ),
    ),
  };
  let outcome: Outcome;
  let status: number;
  let context: AnswerContext = base;
  if (explanation.error) {
    outcome = 'refused';
    status = explanation.error.status;
    context = { ...base, error: explanation.error.message };
  } else if (explanation.matched.length === 0) {
    outcome = 'ignored';
    status = 202;
  } else if (source.mode === 'async') {
    outcome = 'queued';
    status = 202;
    context = { ...base, vars };
  } else {
    outcome = 'ok';
    status = 200;
    context = { ...base, vars, sessionId: '<sessionId>', result: '<result>' };
  }
  return { outcome, answer: source.respond?.render(outcome, context, status) };
}
