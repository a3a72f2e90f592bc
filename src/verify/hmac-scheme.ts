import type { DigestEncoding, HmacAlgorithm, SecretFormat } from './hmac-signature';
import type { TimestampUnit } from './parse-timestamp';
import type { SignedContent } from './signed-content';
import type { VerifyRequest } from './types';

export type ParsedSignatures =
  | { readonly ok: true; readonly signatures: readonly string[]; readonly timestamp?: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Splits the signature header into candidate digests (already stripped of `sha256=`, `v1,` …) and,
 * for schemes like Stripe's, the timestamp it carries. Never throws; never echoes the value.
 */
export type SignatureParser = (value: string, header: string) => ParsedSignatures;

/**
 * How the signature header is written, as data: the parser reads it, and sign-request.ts writes a
 * header the same way ("t=<ts>,v1=<sig>" is `{ separator: ',', timestampPrefix: 't=', prefix: 'v1=' }`).
 */
export interface SignatureLayout {
  readonly prefix: string;
  readonly separator?: string;
  readonly timestampPrefix?: string;
}

/** Header names in their documented spelling; used for lookups (lower-cased) and in reasons. */
export interface HeaderSet {
  readonly signature: string;
  readonly timestamp?: string;
  /** The delivery id: first one present wins. Required only when the template signs {id}. */
  readonly id?: readonly string[];
  /** Overrides for this header only (GitHub's legacy `X-Hub-Signature: sha1=…`). */
  readonly algorithm?: HmacAlgorithm;
  readonly parse?: SignatureParser;
}

/**
 * Everything a preset declares about an HMAC scheme. One engine (hmac-verifier.ts) runs them all,
 * so a new provider, or a new generic `hmac` option, only changes a declaration.
 */
export interface HmacScheme {
  /** Alternative header sets, in order of preference: the first whose signature header is present is used. */
  readonly headerSets: readonly HeaderSet[];
  readonly parse: SignatureParser;
  /** What `parse` reads, as data, for the first header set (the one a request is signed with). */
  readonly layout: SignatureLayout;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: DigestEncoding;
  readonly content: SignedContent;
  readonly secretFormat: SecretFormat;
  /** Replay window in seconds, 0 = off. Only applies when the scheme carries a timestamp. */
  readonly tolerance: number;
  readonly timestampUnit: TimestampUnit;
  /** The timestamp is this field of the JSON body (Linear), read once the body is verified. */
  readonly timestampPath?: readonly string[];
  /** The URLs to try for {url}: the one received (or `publicUrl`), and provider-specific variants. */
  readonly urls: (url: string) => readonly string[];
  /** A check after the signature matched (Twilio's bodySHA256); a reason, or null when it passes. */
  readonly check?: (req: VerifyRequest) => string | null;
}
