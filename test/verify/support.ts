import { createHmac } from 'node:crypto';
import type { Verifier, VerifyRequest, VerifyResult, VerifySpec } from '../../src/verify/types';

export interface RequestParts {
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Seconds since the epoch; the request's `now` is this in milliseconds (unless `nowMs`). */
  readonly at: number;
  readonly nowMs?: number;
  readonly method?: string;
  readonly url?: string;
}

export const TEST_URL = 'https://flowhook.test/hooks/x';

/** A VerifyRequest as the HTTP layer hands it over: lower-case header names, raw body bytes. */
export function request(parts: RequestParts): VerifyRequest {
  const { body, headers = {}, query = {}, at, nowMs, method = 'POST', url = TEST_URL } = parts;
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers: lower,
    method,
    url,
    query,
    now: nowMs ?? at * 1000,
  };
}

export function hmacOf(
  key: string | Buffer,
  data: string | Buffer,
  encoding: 'hex' | 'base64' = 'hex',
  algorithm = 'sha256',
): string {
  return createHmac(algorithm, key).update(data).digest(encoding);
}

/** Flips the lowest bit of one byte, so the body differs from what was signed by exactly one bit. */
export function flipByte(body: string | Buffer, index = 0): Buffer {
  const copy = Buffer.from(body);
  copy[index] = (copy[index] ?? 0) ^ 1;
  return copy;
}

/**
 * The failure reason, after checking it contains none of `forbidden`: the expected MACs (computed
 * by the test), the secrets and the received signature header values.
 */
export function reasonOf(result: VerifyResult, forbidden: readonly string[]): string {
  if (result.ok) throw new Error('expected a failure, got ok');
  for (const value of forbidden.filter((s) => s.length >= 6)) {
    expect(result.reason).not.toContain(value);
  }
  return result.reason;
}

/** Received header values long enough to be a signature; short ones ("sha256=") may be named in a reason. */
export function received(headers: Readonly<Record<string, string>>): string[] {
  return Object.values(headers).filter((value) => value.length > 16);
}

export type Want =
  | { readonly ok: true; readonly secretIndex: number | null; readonly deliveryId?: string }
  | { readonly ok: false; readonly reason: RegExp };

/** Adds the "accepts"/"rejects" label the test titles use. */
export function labelled<T extends { want: Want }>(rows: readonly T[]): (T & { result: string })[] {
  return rows.map((row) => ({ ...row, result: row.want.ok ? 'accepts' : 'rejects' }));
}

/** A row of a preset's table; anything left out comes from the table's defaults. */
export interface Case {
  readonly situation: string;
  readonly secrets?: readonly string[];
  /** Options besides provider and secrets (tolerance, publicUrl, legacy …). */
  readonly spec?: Partial<VerifySpec>;
  readonly body?: string | Buffer;
  /** The whole header map of the request (not merged with the defaults'). */
  readonly headers?: Readonly<Record<string, string>>;
  readonly at?: number;
  readonly nowMs?: number;
  readonly method?: string;
  readonly url?: string;
  readonly want: Want;
}

export type Resolved = Required<Pick<Case, 'secrets' | 'body' | 'headers' | 'at'>> & Case;

/**
 * One table per preset: each row is a request through the verifier `build` makes for
 * `{ provider, secrets, ...spec }`. A failing row's reason is checked against `forbidden(row)`
 * (the expected MACs for the row's secrets, the secrets themselves) and the received signatures.
 */
export function verifyTable(
  provider: string,
  build: (spec: VerifySpec) => Verifier,
  defaults: Omit<Resolved, 'situation' | 'want'>,
  rows: readonly Case[],
  forbidden: (row: Resolved) => readonly string[] = () => [],
): void {
  describe(`${provider} verifier`, () => {
    it.each(labelled(rows))(`${provider}: $situation → $result`, (row) => {
      const r = { ...defaults, ...row } as Resolved;
      const verify = build({ provider, secrets: r.secrets, ...defaults.spec, ...row.spec });
      const result = verify(request(r));
      if (r.want.ok) {
        expect(result).toEqual(r.want);
        return;
      }
      const leaks = [...r.secrets, ...forbidden(r), ...received(r.headers)];
      expect(reasonOf(result, leaks)).toMatch(r.want.reason);
    });
  });
}
