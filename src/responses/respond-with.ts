import type { StoredAnswer } from '../deliveries/types';
import type { CompiledSource } from '../mappings/types';
import type { AnswerContext, Outcome } from './types';

/**
 * The refusals of a verified request that `refused` templates: the body cannot be read (400) or
 * the variables are missing or wrong (422). A 415 (media type) stays flowhook's, like 413.
 */
export function isTemplatedRefusal(code: string): boolean {
  return code === 'invalid_body' || code === 'missing_variables' || code === 'invalid_variables';
}

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
