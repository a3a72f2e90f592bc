import type { DigestEncoding, HmacAlgorithm, SecretFormat } from './hmac-signature';
import type { SignedContent } from './signed-content';

/** Header names in their documented spelling; used for lookups (lower-cased) and in reasons. */
export interface HeaderSet {
  readonly signature: string;
  readonly timestamp?: string;
  /** The delivery id: first one present wins. Required only when the template signs {id}. */
  readonly id?: readonly string[];
}

export type ParsedSignatures =
  | { readonly ok: true; readonly signatures: readonly string[]; readonly timestamp?: string }
  | { readonly ok: false; readonly reason: string };

/**
 * Everything a preset declares about an HMAC scheme. One engine (hmac-verifier.ts) runs them all,
 * so a new provider, or a new generic `hmac` option, only changes a declaration.
 */
export interface HmacScheme {
  /** Alternative header sets, in order of preference: the first whose signature header is present is used. */
  readonly headerSets: readonly HeaderSet[];
  /**
   * Splits the signature header into candidate digests (already stripped of `sha256=`, `v1,` …) and,
   * for schemes like Stripe's, the timestamp it carries. Never throws; never echoes the value.
   */
  readonly parse: (value: string, header: string) => ParsedSignatures;
  readonly algorithm: HmacAlgorithm;
  readonly encoding: DigestEncoding;
  readonly content: SignedContent;
  readonly secretFormat: SecretFormat;
  /** Replay window in seconds, 0 = off. Only applies when the scheme carries a timestamp. */
  readonly tolerance: number;
}
