import { VerifySpecError } from './types';

export type Placeholder = 'body' | 'timestamp' | 'id';

/** The values a template is filled with: the raw body, and header values exactly as received. */
export interface SignedValues {
  readonly body: Buffer;
  readonly timestamp?: string;
  readonly id?: string;
}

export interface SignedContent {
  readonly uses: ReadonlySet<Placeholder>;
  /** Buffer parts to feed the HMAC in order; the body is never copied or re-encoded. */
  readonly parts: (values: SignedValues) => Buffer[];
}

const TOKEN = /\{([^{}]*)\}/g;
const PLACEHOLDERS: readonly string[] = ['body', 'timestamp', 'id'];

/**
 * Compiles a template such as "v0:{timestamp}:{body}" once at load time, so a request only
 * concatenates buffers. Unknown placeholders and stray braces are configuration errors.
 */
export function signedContent(template: string): SignedContent {
  const pieces: (Buffer | Placeholder)[] = [];
  let last = 0;
  for (const match of template.matchAll(TOKEN)) {
    const name = match[1] ?? '';
    if (!PLACEHOLDERS.includes(name)) {
      throw new VerifySpecError(`signedContent: unknown placeholder {${name}}`);
    }
    pieces.push(Buffer.from(template.slice(last, match.index), 'utf8'), name as Placeholder);
    last = match.index + match[0].length;
  }
  pieces.push(Buffer.from(template.slice(last), 'utf8'));
  const literals = pieces.filter((p): p is Buffer => Buffer.isBuffer(p));
  if (literals.some((p) => p.includes('{') || p.includes('}'))) {
    throw new VerifySpecError('signedContent: unbalanced "{" or "}"');
  }
  const uses = new Set(pieces.filter((p): p is Placeholder => typeof p === 'string'));
  if (!uses.has('body')) throw new VerifySpecError('signedContent must include {body}');
  const parts = (values: SignedValues): Buffer[] =>
    pieces
      .map((p) =>
        Buffer.isBuffer(p) ? p : p === 'body' ? values.body : Buffer.from(values[p] ?? ''),
      )
      .filter((p) => p.length > 0);
  return { uses, parts };
}
