import type { DigestEncoding, HmacAlgorithm, SecretFormat } from './hmac-signature';
import type { TimestampUnit } from './parse-timestamp';

/**
 * An HMAC scheme described as data: what a user writes under `verify:` with `provider: hmac`, and
 * what the presets declare (typeform.ts is `{ header: 'Typeform-Signature', prefix: 'sha256=',
 * encoding: 'base64' }`). compileHmacOptions turns it into the engine's HmacScheme at load.
 */
export interface HmacOptions {
  readonly header: string;
  /** Text before each signature, compared exactly ("sha256=", "v1="). */
  readonly prefix?: string;
  /** Several entries in the header, split on this ("," for Stripe, ";" for Paddle, " " for Standard Webhooks). */
  readonly separator?: string;
  /** The entry holding the timestamp ("t=", "ts="); needs `separator`. */
  readonly timestampPrefix?: string;
  readonly algorithm?: HmacAlgorithm;
  readonly encoding?: DigestEncoding;
  readonly secretEncoding?: SecretFormat;
  /** Placeholders {body}, {timestamp}, {id}, {method}, {url}, {header:Name}; default "{body}". */
  readonly signedContent?: string;
  readonly timestampHeader?: string;
  /** "$.webhookTimestamp": the timestamp is in the JSON body, which is signed. */
  readonly timestampPath?: string;
  readonly timestampUnit?: TimestampUnit;
  /** The delivery id header(s); presets may list fallbacks. */
  readonly idHeader?: string | readonly string[];
  /** Replay window in seconds when a timestamp is signed (default 300); 0 = off. */
  readonly tolerance?: number;
  /** The URL the sender signs, without query; the received query string is appended. */
  readonly publicUrl?: string;
}
