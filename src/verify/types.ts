/**
 * The verification contract. A verifier is a pure function of the request as received and an
 * injected clock; it never reads Date.now(), the environment or Express objects.
 */

/** Request headers with lower-case names; repeated headers are joined with ", " (Node's rule). */
export type HeaderMap = Readonly<Record<string, string | undefined>>;

export interface VerifyRequest {
  /** The exact bytes received. Signatures are always computed over these, never re-serialized JSON. */
  readonly rawBody: Buffer;
  readonly headers: HeaderMap;
  /** HTTP method as received, upper case. */
  readonly method: string;
  /** Full URL the sender used (scheme, host, path, query), for URL-signing schemes. */
  readonly url: string;
  /** Parsed query string, first value of each key. */
  readonly query: Readonly<Record<string, string | undefined>>;
  /** Current time in milliseconds since the epoch (injected, so tests pin the clock). */
  readonly now: number;
}

export type VerifyResult =
  | {
      readonly ok: true;
      /** Index in `secrets` of the secret that matched (null for `none`). Logged; the secret never is. */
      readonly secretIndex: number | null;
      /** The provider's own delivery id when the scheme carries one (X-GitHub-Delivery, webhook-id, …). */
      readonly deliveryId?: string;
    }
  | {
      readonly ok: false;
      /** Why it failed, safe to show the sender: never the expected signature or a secret. */
      readonly reason: string;
    };

export type Verifier = (req: VerifyRequest) => VerifyResult;

/**
 * The `verify:` block of a mapping file after `${VAR}` substitution and schema validation.
 * Presets read the keys that concern them (preset-options.ts says which); `secret` and
 * `secrets` are merged into one list. A key a preset does not use is a load error.
 */
export interface VerifySpec {
  readonly provider: string;
  readonly secrets: readonly string[];
  /** Replay window in seconds; overrides the preset's default. 0 disables the timestamp check. */
  readonly tolerance?: number;
  /** The URL the sender signs (twilio, square, hubspot, hmac with {url}), when proxies change it. */
  readonly publicUrl?: string;
  /** github: also accept the SHA-1 X-Hub-Signature; hubspot: also accept v1/v2 signatures. */
  readonly legacy?: boolean;
  /** basic: the user name; the secrets are its passwords. */
  readonly username?: string;
  /** Generic `hmac` and `token` options. */
  readonly header?: string;
  readonly query?: string;
  readonly algorithm?: 'sha1' | 'sha256' | 'sha512';
  readonly encoding?: 'hex' | 'base64';
  readonly secretEncoding?: 'utf8' | 'base64' | 'whsec';
  readonly prefix?: string;
  /** Splits a header holding several entries ("t=1,v1=a,v1=b"); entries starting with `prefix` are signatures. */
  readonly separator?: string;
  /** The entry of a separated header that holds the timestamp, e.g. "t=". */
  readonly timestampPrefix?: string;
  /**
   * What is signed, e.g. "{timestamp}.{body}"; placeholders {body}, {timestamp}, {id},
   * {method}, {url} and {header:Name}.
   */
  readonly signedContent?: string;
  readonly timestampHeader?: string;
  /** Where the timestamp is in the (signed) JSON body, e.g. "$.webhookTimestamp". */
  readonly timestampPath?: string;
  readonly timestampUnit?: 's' | 'ms' | 'iso';
  readonly idHeader?: string;
}

/** Thrown at load time when a `verify:` block cannot make a verifier (unknown preset, missing option). */
export class VerifySpecError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VerifySpecError';
  }
}

/** A provider's set-up or check request that flowhook answers itself, after verification. */
export interface Handshake {
  readonly status: number;
  /** JSON unless `text` is set. */
  readonly body: unknown;
  readonly text?: boolean;
}

/** What a preset reads from the parsed request once the signature has been verified. */
export interface AfterVerify {
  /** Slack's url_verification and the like: answered here, no flow runs. */
  readonly handshake?: (body: unknown, headers: HeaderMap) => Handshake | undefined;
  /** The provider's delivery id when it travels in the body (Stripe's event `id`). */
  readonly bodyDeliveryId?: (body: unknown) => string | undefined;
}

/** A `verify:` block made ready for requests: the verifier and its after-verification hooks. */
export interface Preset extends AfterVerify {
  readonly verify: Verifier;
}
