import type { CliIo } from './cli-io';
import { callAdminApi } from './deliveries-command';

export interface LimitsOptions {
  url?: string;
  json?: boolean;
}

interface LimitsAnswer {
  platform: { concurrency: number | null; rate: string | null };
  flows: {
    flow: string;
    limits: { concurrency: number | null; rate: string | null } | null;
    paused: boolean;
    circuit: string;
    openUntil: string | null;
    throttledUntil: string | null;
    running: number;
  }[];
  pauses: { kind: string; name: string; pausedAt: string }[];
}

/** `flowhook limits`: every flow's limits, circuit, 429 block and running calls, and the pauses (GET /api/limits). */
export async function limitsCommand(options: LimitsOptions, io: CliIo): Promise<number> {
  const answer = await callAdminApi('limits', 'GET', '/api/limits', options.url, io);
  if (typeof answer === 'number') return answer;
  if (options.json) {
    io.out(`${JSON.stringify(answer.body, null, 2)}\n`);
    return 0;
  }
  const state = answer.body as LimitsAnswer;
  const limits = (l: { concurrency: number | null; rate: string | null } | null) => {
    const parts: string[] = [];
    if (l !== null && l.concurrency !== null) parts.push(`concurrency ${l.concurrency}`);
    if (l !== null && l.rate !== null) parts.push(`rate ${l.rate}`);
    return parts.length > 0 ? parts.join(', ') : 'no limits';
  };
  io.out(`platform: ${limits(state.platform)}\n`);
  for (const f of state.flows) {
    const notes = [
      `circuit ${f.circuit}${f.openUntil ? ` until ${f.openUntil}` : ''}`,
      `${f.running} running`,
      ...(f.paused ? ['PAUSED'] : []),
      ...(f.throttledUntil ? [`throttled until ${f.throttledUntil}`] : []),
    ];
    io.out(`flow ${f.flow}: ${limits(f.limits)}; ${notes.join('; ')}\n`);
  }
  for (const p of state.pauses.filter((p) => p.kind === 'source')) {
    io.out(`source ${p.name}: PAUSED since ${p.pausedAt}\n`);
  }
  return 0;
}
