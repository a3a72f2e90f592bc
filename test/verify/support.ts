import { createHmac } from 'node:crypto';
import type { VerifyRequest, VerifyResult } from '../../src/verify/types';

export interface RequestParts {
  readonly body: string | Buffer;
  readonly headers?: Readonly<Record<string, string>>;
  readonly query?: Readonly<Record<string, string>>;
  /** Seconds since the epoch; the request's `now` is this in milliseconds. */
  readonly at: number;
}

/** A VerifyRequest as the HTTP layer hands it over: lower-case header names, raw body bytes. */
export function request({ body, headers = {}, query = {}, at }: RequestParts): VerifyRequest {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers: lower,
    method: 'POST',
    url: 'https://flowhook.test/hooks/x',
    query,
    now: at * 1000,
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
