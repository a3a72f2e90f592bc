import { PathError } from '../path-error';
import { parseRate } from './parse-rate';
import type { FlowLimits, LimitsDef } from './types';

/** A validated `limits:` block as the limiter uses it (the schema checked its shape). */
export function compileLimits(def: LimitsDef): FlowLimits {
  const rate = def.rate === undefined ? undefined : parseRate(def.rate);
  if (def.rate !== undefined && rate === undefined) {
    throw new PathError(['rate'], `"${def.rate}" is not a rate such as 50/s, 600/min or 1000/h`);
  }
  return {
    ...(def.concurrency === undefined ? {} : { concurrency: def.concurrency }),
    ...(rate === undefined ? {} : { rate }),
  };
}

/** True when two declarations ask for the same budget. */
export function sameLimits(a: FlowLimits, b: FlowLimits): boolean {
  return (
    a.concurrency === b.concurrency &&
    a.rate?.count === b.rate?.count &&
    a.rate?.perMs === b.rate?.perMs
  );
}

/** "concurrency 5, rate 50/s" for messages. */
export function describeLimits(limits: FlowLimits): string {
  const parts: string[] = [];
  if (limits.concurrency !== undefined) parts.push(`concurrency ${limits.concurrency}`);
  if (limits.rate !== undefined) parts.push(`rate ${describeRate(limits.rate)}`);
  return parts.length > 0 ? parts.join(', ') : 'no limits';
}

export function describeRate(rate: { count: number; perMs: number }): string {
  const unit = rate.perMs === 1000 ? 's' : rate.perMs === 60_000 ? 'min' : 'h';
  return `${rate.count}/${unit}`;
}
