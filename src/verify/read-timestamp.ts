import { readBodyPath } from './body-path';
import type { HeaderSet, HmacScheme } from './hmac-scheme';
import { parseTimestamp, UNIT_NAMES } from './parse-timestamp';
import { readHeader } from './read-header';
import type { VerifyRequest } from './types';

export type TimestampRead =
  | { readonly ok: true; readonly raw?: string; readonly ms?: number }
  | { readonly ok: false; readonly reason: string };

/**
 * The timestamp a request carries in a header, or inside the signature header (`parsed`), checked
 * for form before any HMAC is computed. `raw` is what is signed, exactly as received.
 */
export function headerTimestamp(
  scheme: HmacScheme,
  set: HeaderSet,
  parsed: string | undefined,
  req: VerifyRequest,
): TimestampRead {
  const where = set.timestamp ?? set.signature;
  const raw = parsed ?? (set.timestamp ? readHeader(req.headers, set.timestamp) : undefined);
  if (raw === undefined) {
    const needed = set.timestamp !== undefined || scheme.content.uses.has('timestamp');
    return needed ? { ok: false, reason: `missing ${where} header` } : { ok: true };
  }
  const ms = parseTimestamp(raw, scheme.timestampUnit);
  if (ms === null) {
    const expected = UNIT_NAMES[scheme.timestampUnit];
    return { ok: false, reason: `malformed timestamp in ${where} header (expected ${expected})` };
  }
  return { ok: true, raw, ms };
}

/**
 * The timestamp inside the JSON body (Linear's `webhookTimestamp`), read only after the body's
 * signature matched. Skipped when the window is off; otherwise a missing field is refused, since
 * an attacker cannot remove a field from a signed body and the sender always includes it.
 */
export function bodyTimestamp(scheme: HmacScheme, req: VerifyRequest): TimestampRead {
  const path = scheme.timestampPath;
  if (path === undefined || scheme.tolerance === 0) return { ok: true };
  const where = `$.${path.join('.')}`;
  const value = readBodyPath(req.rawBody, path);
  if (value === undefined) return { ok: false, reason: `missing ${where} in the body` };
  const ms = parseTimestamp(value, scheme.timestampUnit);
  if (ms === null) {
    const expected = UNIT_NAMES[scheme.timestampUnit];
    return { ok: false, reason: `malformed timestamp at ${where} (expected ${expected})` };
  }
  return { ok: true, ms };
}
