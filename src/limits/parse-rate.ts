/** A rate as written in a mapping or FLOW_RATE: `count` calls per `perMs`. */
export interface Rate {
  readonly count: number;
  readonly perMs: number;
}

const UNITS: Readonly<Record<string, number>> = {
  s: 1000,
  sec: 1000,
  second: 1000,
  m: 60_000,
  min: 60_000,
  minute: 60_000,
  h: 3_600_000,
  hour: 3_600_000,
};

/** "50/s", "600/min", "1000/h" → { count, perMs }; undefined when it is not one. */
export function parseRate(text: string): Rate | undefined {
  const match = /^([1-9]\d{0,5})\s*\/\s*([a-z]+)$/.exec(text.trim());
  const perMs = match ? UNITS[match[2]] : undefined;
  if (!match || perMs === undefined) return undefined;
  return { count: Number(match[1]), perMs };
}
