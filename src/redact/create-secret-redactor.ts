import RE2 from 're2';

/** What a secret is replaced with wherever it is found. */
export const REDACTED = '[redacted]';

/**
 * Below this length a secret is only recognised as a whole value: a short secret found inside a
 * longer text is more likely chance than a leak, and redacting it would mangle ordinary values.
 */
export const MIN_EMBEDDED_SECRET = 8;

export interface SecretRedactor {
  /** The text with every form of every secret replaced by "[redacted]". */
  text(value: string): string;
  /** Whether the text holds a secret in any of its forms (or is a short secret exactly). */
  holds(value: string): boolean;
  /** A JSON-like value with every string (keys too) redacted; the same value when nothing is. */
  json<T>(value: T): T;
  /**
   * `JSON.stringify(json(value))`, made once: the text the search ran over is the answer when it
   * finds nothing (an answer written as JSON).
   */
  jsonText(value: unknown): string;
}

/**
 * Recognises secrets (the sources' secrets, the flow token) in the forms a leak takes: as
 * written in any letter case, base64 and base64url (at any alignment, so inside `Basic` credentials
 * or a longer encoded blob too), and URL- or form-encoded. Matching runs on RE2, one pass, linear
 * in the text whatever the number of secrets.
 */
export function createSecretRedactor(secrets: Iterable<string>): SecretRedactor {
  const exact = new Set<string>();
  const forms = new Set<string>();
  let everyEmbedded = true;
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret.trim() === '') continue;
    exact.add(secret.toLowerCase());
    if (secret.length >= MIN_EMBEDDED_SECRET) for (const form of formsOf(secret)) forms.add(form);
    else everyEmbedded = false;
  }
  const pattern =
    forms.size === 0
      ? undefined
      : new RE2(
          [...forms]
            .sort((a, b) => b.length - a.length)
            .map(escapeRegex)
            .join('|'),
          'gi',
        );
  const isExact = (value: string) => exact.size > 0 && exact.has(value.toLowerCase());
  const text = (value: string): string => {
    if (isExact(value)) return REDACTED;
    if (pattern === undefined) return value;
    // RE2's global replace starts at lastIndex, which a test() before it leaves at its match.
    pattern.lastIndex = 0;
    // Most texts hold none: a test costs a fifth of a replace, which builds a new string anyway
    // (issue 15: the stored URL of every delivery).
    if (!pattern.test(value)) return value;
    pattern.lastIndex = 0;
    return value.replace(pattern, REDACTED);
  };
  const holds = (value: string): boolean => {
    if (isExact(value)) return true;
    if (pattern === undefined) return false;
    pattern.lastIndex = 0;
    return pattern.test(value);
  };
  // One search over a value's JSON text finds every secret its strings (keys too) hold when each
  // secret is matched inside text (no short one, matched only as a whole value) and no form has a
  // character JSON escapes (so a form inside a string is in the JSON as is). Most values hold
  // none, and one native call over the whole text costs a fraction of one per string (issue 15).
  const oneSearch = pattern !== undefined && everyEmbedded && ![...forms].some(escapedInJson);
  const json = <T>(value: T): T => {
    if (exact.size === 0) return value;
    if (oneSearch && jsonTextWithout(value, pattern) !== undefined) return value;
    return walk(value, text) as T;
  };
  const jsonText = (value: unknown): string => {
    if (!oneSearch) return JSON.stringify(json(value));
    // What json() would search, kept when the search finds nothing; else the walk, as json().
    return jsonTextWithout(value, pattern) ?? JSON.stringify(walk(value, text));
  };
  return { text, holds, json, jsonText };
}

/** Whether JSON.stringify would write one of the text's characters differently. */
function escapedInJson(text: string): boolean {
  return JSON.stringify(text) !== `"${text}"`;
}

/**
 * The value's JSON text when it holds no match; undefined when it holds one, or has no JSON text
 * (then the walk decides).
 */
function jsonTextWithout(value: unknown, pattern: RE2): string | undefined {
  let serialized: string | undefined;
  try {
    serialized = JSON.stringify(value);
  } catch {
    return undefined;
  }
  if (serialized === undefined) return undefined;
  pattern.lastIndex = 0;
  const found = pattern.test(serialized);
  pattern.lastIndex = 0;
  return found ? undefined : serialized;
}

function walk(value: unknown, text: (value: string) => string): unknown {
  if (typeof value === 'string') return text(value);
  if (Array.isArray(value)) {
    let changed = false;
    const copy = value.map((item) => {
      const next = walk(item, text);
      if (next !== item) changed = true;
      return next;
    });
    return changed ? copy : value;
  }
  if (value !== null && typeof value === 'object') {
    let changed = false;
    const copy: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      const name = text(key);
      const next = walk(item, text);
      if (name !== key || next !== item) changed = true;
      // defineProperty: a key "__proto__" stays a key, never the copy's prototype.
      Object.defineProperty(copy, name, {
        value: next,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return changed ? copy : value;
  }
  return value;
}

/** The secret as written, URL- and form-encoded, and base64/base64url at each byte alignment. */
function formsOf(secret: string): string[] {
  const forms = [
    secret,
    encodeURIComponent(secret),
    encodeURIComponent(secret).replace(/%20/g, '+'),
  ];
  const bytes = Buffer.from(secret, 'utf8');
  for (let offset = 0; offset < 3; offset += 1) {
    const encoded = Buffer.concat([Buffer.alloc(offset), bytes]).toString('base64');
    // Only the characters made of the secret's bits alone: the neighbours depend on what
    // surrounds the secret in the encoded text.
    const from = Math.ceil((8 * offset) / 6);
    const to = Math.floor((8 * (offset + bytes.length)) / 6);
    const core = encoded.slice(from, to);
    forms.push(core, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return forms;
}

function escapeRegex(text: string): string {
  return text.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}
