import sjson from 'secure-json-parse';
import { FlowhookError } from '../errors';
import { nestsDeeperThan } from './nests-deeper-than';

// fatal: a byte sequence that is not UTF-8 is refused instead of silently becoming U+FFFD.
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Deeper than this is refused before parsing: real webhook payloads nest a handful of levels. */
export const MAX_BODY_DEPTH = 64;

/**
 * Parses a verified body by its media type: JSON (application/json, application/*+json) or an
 * HTML form (application/x-www-form-urlencoded). Called only after the signature was checked.
 * `__proto__` and `constructor.prototype` keys are refused (secure-json-parse), as bodies flow
 * into user-authored JSONPath and on to another service.
 */
export function parseBody(
  rawBody: Buffer,
  contentType: string | undefined,
  jsonFields: readonly string[] = ['payload'],
): unknown {
  const { mediaType, charset } = parseContentType(contentType);
  const kind = mediaKind(mediaType);
  if (kind === undefined) {
    throw new FlowhookError(
      'unsupported_media_type',
      `content type ${mediaType === '' ? '(none)' : `"${mediaType}"`} is not supported; send application/json or application/x-www-form-urlencoded`,
    );
  }
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new FlowhookError(
      'unsupported_media_type',
      `charset "${charset}" is not supported; send UTF-8`,
    );
  }
  if (rawBody.length === 0) throw new FlowhookError('invalid_body', 'the body is empty');
  let text: string;
  try {
    text = UTF8.decode(rawBody);
  } catch {
    throw new FlowhookError('invalid_body', 'the body is not valid UTF-8');
  }
  return kind === 'json' ? parseJson(text) : parseForm(text, jsonFields);
}

function parseJson(text: string): unknown {
  if (nestsDeeperThan(text, MAX_BODY_DEPTH)) {
    throw new FlowhookError(
      'invalid_body',
      `the JSON body nests deeper than ${MAX_BODY_DEPTH} levels`,
    );
  }
  try {
    // secure-json-parse checks with two large regexes over the whole text. A key can only be
    // __proto__ or constructor if the text holds "proto" or "constructor", or \u escapes that
    // spell them, so a native substring search settles most bodies before those regexes run.
    if (!text.includes('proto') && !text.includes('constructor') && !text.includes('\\u')) {
      return JSON.parse(text);
    }
    return sjson.parse(text, undefined, { protoAction: 'error', constructorAction: 'error' });
  } catch (error) {
    const message = (error as Error).message;
    const reason = /prototype/i.test(message)
      ? 'the JSON body has a forbidden __proto__ or constructor.prototype key'
      : `the body is not valid JSON (${message})`;
    throw new FlowhookError('invalid_body', reason);
  }
}

/** Form fields; a repeated field becomes an array; `jsonFields` holding JSON (Slack's `payload`) are parsed. */
function parseForm(text: string, jsonFields: readonly string[]): Record<string, unknown> {
  const form: Record<string, unknown> = Object.create(null);
  for (const [key, value] of new URLSearchParams(text)) {
    if (key === '__proto__' || key === 'constructor' || key === 'prototype') {
      throw new FlowhookError('invalid_body', `the form has a forbidden field "${key}"`);
    }
    const existing = form[key];
    // Appended in place: copying the list on every repeat made 20,000 repeats of one field take
    // seconds (issue 9, item 2). Only this loop creates arrays, so an array here is ours.
    if (existing === undefined) form[key] = value;
    else if (Array.isArray(existing)) existing.push(value);
    else form[key] = [existing, value];
  }
  for (const field of jsonFields) {
    const value = form[field];
    if (typeof value === 'string' && /^\s*[[{]/.test(value)) form[field] = parseJson(value);
  }
  return form;
}

function parseContentType(header: string | undefined): { mediaType: string; charset?: string } {
  const [type = '', ...params] = (header ?? '').split(';');
  const charsetParam = params
    .map((p) => p.trim().toLowerCase())
    .find((p) => p.startsWith('charset='));
  const charset = charsetParam?.slice('charset='.length).replace(/^"|"$/g, '');
  return { mediaType: type.trim().toLowerCase(), charset };
}

function mediaKind(mediaType: string): 'json' | 'form' | undefined {
  if (mediaType === 'application/json' || /^application\/[\w.+-]+\+json$/.test(mediaType))
    return 'json';
  if (mediaType === 'application/x-www-form-urlencoded') return 'form';
  return undefined;
}
