import type { ParsedSignatures } from './hmac-scheme';

/**
 * Parser for a header holding one digest behind a fixed prefix ("sha256=<hex>", or none).
 * Stripping an exact, case-sensitive prefix and comparing the rest is the same as octokit's
 * whole-string compare: "SHA256=…" or uppercase hex do not match.
 * https://github.com/octokit/webhooks-methods.js/blob/da0cc1c471917c510e1cf6cf125ef2c7c177c82d/src/node/verify.ts
 */
export function prefixedSignature(prefix: string) {
  return (value: string, header: string): ParsedSignatures => {
    if (!value.startsWith(prefix) || value.length === prefix.length) {
      return { ok: false, reason: `malformed ${header} header (expected ${prefix}<signature>)` };
    }
    return { ok: true, signatures: [value.slice(prefix.length)] };
  };
}
