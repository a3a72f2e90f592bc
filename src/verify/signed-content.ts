import { readHeader } from './read-header';
import { VerifySpecError, type HeaderMap } from './types';

export type Placeholder = 'body' | 'timestamp' | 'id' | 'method' | 'url';

/** The values a template is filled with: the raw body, and the rest exactly as received. */
export interface SignedValues {
  readonly body: Buffer;
  readonly timestamp?: string;
  readonly id?: string;
  readonly method?: string;
  readonly url?: string;
  readonly headers?: HeaderMap;
}

export interface SignedContent {
  readonly uses: ReadonlySet<Placeholder>;
  /** Header names used as {header:Name}; the engine refuses a request missing one of them. */
  readonly headers: readonly string[];
  /** Buffer parts to feed the HMAC in order; the body is never copied or re-encoded. */
  readonly parts: (values: SignedValues) => Buffer[];
}

type Piece = Buffer | Placeholder | { readonly header: string };

const TOKEN = /\{([^{}]*)\}/g;
const PLACEHOLDERS: readonly string[] = ['body', 'timestamp', 'id', 'method', 'url'];
// RFC 9110 token characters: anything else cannot be a header name.
const HEADER = /^header:([!#$%&'*+.^_`|~0-9A-Za-z-]+)$/;

function piece(name: string): Piece {
  if (PLACEHOLDERS.includes(name)) return name as Placeholder;
  const header = HEADER.exec(name)?.[1];
  if (header === undefined)
    throw new VerifySpecError(`signedContent: unknown placeholder {${name}}`);
  return { header };
}

function fill(p: Piece, values: SignedValues): Buffer {
  if (Buffer.isBuffer(p)) return p;
  if (p === 'body') return values.body;
  if (typeof p === 'string') return Buffer.from(values[p] ?? '', 'utf8');
  return Buffer.from(readHeader(values.headers ?? {}, p.header) ?? '', 'utf8');
}

/**
 * Compiles a template such as "v0:{timestamp}:{body}" once at load time, so a request only
 * concatenates buffers. Unknown placeholders and stray braces are configuration errors, and so
 * is a template without {body}: a signature that does not cover the body lets anyone change it.
 */
export function signedContent(template: string): SignedContent {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of template.matchAll(TOKEN)) {
    pieces.push(Buffer.from(template.slice(last, match.index), 'utf8'), piece(match[1] ?? ''));
    last = match.index + match[0].length;
  }
  pieces.push(Buffer.from(template.slice(last), 'utf8'));
  const literals = pieces.filter((p): p is Buffer => Buffer.isBuffer(p));
  if (literals.some((p) => p.includes('{') || p.includes('}'))) {
    throw new VerifySpecError('signedContent: unbalanced "{" or "}"');
  }
  const uses = new Set(pieces.filter((p): p is Placeholder => typeof p === 'string'));
  if (!uses.has('body')) throw new VerifySpecError('signedContent must include {body}');
  const headers = pieces.flatMap((p) => (typeof p === 'object' && 'header' in p ? [p.header] : []));
  const parts = (values: SignedValues): Buffer[] =>
    pieces.map((p) => fill(p, values)).filter((p) => p.length > 0);
  return { uses, headers, parts };
}
