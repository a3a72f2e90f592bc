import type { StoredAnswer } from '../deliveries/types';
import type { CompiledSource } from '../mappings/types';
import type { AnswerContext, Outcome } from './types';

/**
 * The answer a verified sender gets for an outcome: the mapping's `respond:` template rendered
 * when it has one for the outcome, else flowhook's own (`own`, whose status is also the template's
 * default). The rendered text is what is stored, so a repeat gets exactly the same bytes.
 */
export function respondWith(
  source: CompiledSource,
  outcome: Outcome,
  own: StoredAnswer,
  context: () => AnswerContext,
): StoredAnswer {
  if (!source.respond?.outcomes.has(outcome)) return own;
  const rendered = source.respond.render(outcome, context(), own.status);
  if (rendered === undefined) return own;
  return {
    status: rendered.status,
    body: rendered.body,
    contentType: rendered.contentType,
    headers: rendered.headers,
  };
}
