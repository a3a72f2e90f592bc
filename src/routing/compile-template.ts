import { compileJsonPath } from './json-path';
import type { RequestView } from './request-view';

/** `{{ $.path }}`, `{{ header.Name }}` or `{{ query.name }}` inside a string. */
const PLACEHOLDER = /\{\{\s*(.*?)\s*\}\}/g;

export function isTemplate(text: string): boolean {
  return text.includes('{{');
}

/**
 * Compiles "{{ $.pusher.name }} pushed {{ header.X-GitHub-Event }}" into a renderer. A placeholder
 * that finds nothing renders as empty text; an object or list renders as its JSON.
 */
export function compileTemplate(text: string): (request: RequestView) => string {
  return compileTemplateOver(text, compileReference);
}

/**
 * The `{{ … }}` language over any context: `reference` compiles one placeholder's expression (at
 * load; it throws for a name that does not exist) and `escape` is applied to each rendered value,
 * never to the literal text around it (response bodies escape for the content type they land in).
 */
export function compileTemplateOver<C>(
  text: string,
  reference: (expression: string) => (context: C) => unknown,
  escape: (value: string) => string = (value) => value,
): (context: C) => string {
  const parts: Array<string | ((context: C) => unknown)> = [];
  let last = 0;
  for (const match of text.matchAll(PLACEHOLDER)) {
    parts.push(text.slice(last, match.index));
    parts.push(reference(match[1] ?? ''));
    last = (match.index ?? 0) + match[0].length;
  }
  const rest = text.slice(last);
  if (rest.includes('{{') || rest.includes('}}')) {
    throw new Error(`template "${text}" has an unclosed {{ or a stray }}`);
  }
  parts.push(rest);
  return (context) => {
    let out = '';
    for (const part of parts)
      out += typeof part === 'string' ? part : escape(render(part(context)));
    return out;
  };
}

function compileReference(expression: string): (request: RequestView) => unknown {
  if (expression.startsWith('$')) {
    const path = compileJsonPath(expression);
    return (request) => path.first(request.body);
  }
  const header = /^header\.(.+)$/.exec(expression);
  if (header) {
    const name = (header[1] as string).toLowerCase();
    return (request) => request.headers[name];
  }
  const query = /^query\.(.+)$/.exec(expression);
  if (query) {
    const name = query[1] as string;
    return (request) => request.query[name];
  }
  throw new Error(
    `template placeholder {{ ${expression} }} must be a JSONPath ($…), header.<Name> or query.<name>`,
  );
}

function render(value: unknown): string {
  if (value === undefined || value === null) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}
