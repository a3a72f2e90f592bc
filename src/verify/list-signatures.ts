import type { SignatureParser } from './hmac-scheme';

/** "v1=" → "v1", "sha256=" → "sha256": how a scheme is named in a reason. */
const label = (prefix: string): string => prefix.replace(/[=,:]$/, '');

/**
 * Parser for a header holding several entries: "t=1,v1=a,v1=b" (Stripe, Calendly),
 * "ts=1;h1=a;h2=b" (Paddle), "v1,a v1a,b" (Standard Webhooks). Every entry starting with
 * `prefix` is a candidate signature (several during a secret roll); other entries (v0, v1a, h2)
 * are ignored so a downgrade to an unknown scheme cannot pass. Empty entries are skipped, as
 * stripe-node does. With `timestampPrefix`, exactly one entry must carry the timestamp.
 */
export function listSignatures(
  separator: string,
  prefix: string,
  timestampPrefix?: string,
): SignatureParser {
  return (value, header) => {
    const entries = value.split(separator).map((entry) => entry.trim());
    const stamps = timestampPrefix ? entries.filter((e) => e.startsWith(timestampPrefix)) : [];
    if (stamps.length > 1) {
      return { ok: false, reason: `malformed ${header} header (more than one timestamp)` };
    }
    if (timestampPrefix !== undefined && stamps.length === 0) {
      return { ok: false, reason: `no timestamp in ${header} header` };
    }
    const signatures = entries
      .filter((e) => e !== '' && e.startsWith(prefix) && !stamps.includes(e))
      .map((e) => e.slice(prefix.length));
    if (signatures.length === 0) {
      const scheme = label(prefix);
      return { ok: false, reason: `no ${scheme ? `${scheme} ` : ''}signature in ${header} header` };
    }
    const timestamp = stamps[0]?.slice(timestampPrefix?.length ?? 0);
    return timestamp === undefined ? { ok: true, signatures } : { ok: true, signatures, timestamp };
  };
}
