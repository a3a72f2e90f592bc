import { compileBodyPath } from './body-path';
import { DEFAULT_TOLERANCE, resolveTolerance } from './check-timestamp';
import type { HmacOptions } from './hmac-options';
import type { HmacScheme } from './hmac-scheme';
import { listSignatures } from './list-signatures';
import { TIMESTAMP_UNITS } from './parse-timestamp';
import { prefixedSignature } from './prefixed-signature';
import { resolvePublicUrl } from './public-url';
import { signedContent } from './signed-content';
import { VerifySpecError } from './types';

function oneOf<T extends string>(
  name: string,
  key: string,
  value: T | undefined,
  allowed: readonly T[],
): T {
  const chosen = value ?? allowed[0];
  if (chosen === undefined || !allowed.includes(chosen)) {
    throw new VerifySpecError(`${name}: ${key} must be one of ${allowed.join(', ')}`);
  }
  return chosen;
}

/** How many places the options say the timestamp is in (one at most). */
const timestampSources = (o: HmacOptions): number =>
  [o.timestampHeader, o.timestampPrefix, o.timestampPath].filter((s) => s !== undefined).length;

/** Option rules that are about combinations, so a mapping cannot ask for a check that proves nothing. */
function checkCombinations(
  name: string,
  o: HmacOptions,
  signs: (p: 'timestamp' | 'id' | 'url') => boolean,
): void {
  const no = (message: string) => new VerifySpecError(`${name}: ${message}`);
  const sources = timestampSources(o);
  if (sources > 1) throw no('set only one of timestampHeader, timestampPrefix and timestampPath');
  if (o.timestampPrefix !== undefined && o.separator === undefined) {
    throw no('timestampPrefix needs separator (the timestamp is an entry of the signature header)');
  }
  const inHeader = o.timestampHeader ?? o.timestampPrefix;
  // A timestamp that is not signed can be rewritten by anyone, so its replay check would be theatre.
  if (inHeader !== undefined && !signs('timestamp')) {
    throw no('a timestamp header is set but signedContent has no {timestamp}');
  }
  if (signs('timestamp') && inHeader === undefined) {
    throw no(
      'signedContent uses {timestamp} but neither timestampHeader nor timestampPrefix is set',
    );
  }
  if (sources === 0 && (o.timestampUnit !== undefined || o.tolerance !== undefined)) {
    throw no('timestampUnit and tolerance need a signed timestamp');
  }
  const ids = typeof o.idHeader === 'string' ? [o.idHeader] : (o.idHeader ?? []);
  if (signs('id') && ids.length === 0) throw no('signedContent uses {id} but idHeader is not set');
  if (o.publicUrl !== undefined && !signs('url')) {
    throw no('publicUrl is set but signedContent has no {url}');
  }
}

/**
 * The data form of a scheme (the generic preset's options, or a preset's declaration) compiled
 * into the engine's HmacScheme, once, at load. Every problem is a VerifySpecError naming `name`.
 */
export function compileHmacOptions(name: string, o: HmacOptions): HmacScheme {
  if (typeof o.header !== 'string' || o.header === '') {
    throw new VerifySpecError(`${name}: option "header" is required`);
  }
  const named = [o.timestampHeader, o.timestampPrefix, o.separator, o.timestampPath, o.idHeader];
  if (named.some((value) => value === '')) {
    throw new VerifySpecError(`${name}: header names, separator and prefixes must not be empty`);
  }
  const content = signedContent(o.signedContent ?? '{body}');
  checkCombinations(name, o, (p) => content.uses.has(p));
  const ids = typeof o.idHeader === 'string' ? [o.idHeader] : o.idHeader;
  const url = resolvePublicUrl(o.publicUrl);
  return {
    headerSets: [
      {
        signature: o.header,
        ...(o.timestampHeader !== undefined && { timestamp: o.timestampHeader }),
        ...(ids !== undefined && { id: ids }),
      },
    ],
    parse:
      o.separator !== undefined
        ? listSignatures(o.separator, o.prefix ?? '', o.timestampPrefix)
        : prefixedSignature(o.prefix ?? ''),
    layout: {
      prefix: o.prefix ?? '',
      ...(o.separator !== undefined && { separator: o.separator }),
      ...(o.timestampPrefix !== undefined && { timestampPrefix: o.timestampPrefix }),
    },
    algorithm: oneOf(name, 'algorithm', o.algorithm, ['sha256', 'sha1', 'sha512']),
    encoding: oneOf(name, 'encoding', o.encoding, ['hex', 'base64']),
    content,
    secretFormat: oneOf(name, 'secretEncoding', o.secretEncoding, ['utf8', 'base64', 'whsec']),
    tolerance: timestampSources(o) > 0 ? resolveTolerance(o.tolerance, DEFAULT_TOLERANCE) : 0,
    timestampUnit: oneOf(name, 'timestampUnit', o.timestampUnit, TIMESTAMP_UNITS),
    ...(o.timestampPath !== undefined && { timestampPath: compileBodyPath(o.timestampPath) }),
    urls: (received) => [url(received)],
  };
}
