import type { CliIo } from './cli-io';
import { callAdminApi } from './deliveries-command';

export interface PauseOptions {
  url?: string;
  org?: string;
  json?: boolean;
}

/**
 * `flowhook pause|resume source <name>` and `flowhook pause|resume flow <flow-id> [--org]`: asks
 * the running flowhook (POST /api/sources/:name/pause, /api/flows/:flow/pause …). A pause is kept
 * in the store, so it holds on every instance and survives restarts. Exit 0 when done (also when
 * it already was), 1 when refused or nothing answered, 2 for a usage problem.
 */
export async function pauseCommand(
  action: 'pause' | 'resume',
  kind: string,
  name: string,
  options: PauseOptions,
  io: CliIo,
): Promise<number> {
  if (kind !== 'source' && kind !== 'flow') {
    io.err(`flowhook ${action}: say what to ${action}: "source <name>" or "flow <flow-id>"\n`);
    return 2;
  }
  if (kind === 'source' && options.org !== undefined) {
    io.err(`flowhook ${action}: --org applies to a flow, not a source\n`);
    return 2;
  }
  const path =
    kind === 'source'
      ? `/api/sources/${encodeURIComponent(name)}/${action}`
      : `/api/flows/${encodeURIComponent(name)}/${action}${
          options.org === undefined ? '' : `?org=${encodeURIComponent(options.org)}`
        }`;
  const answer = await callAdminApi(action, 'POST', path, options.url, io);
  if (typeof answer === 'number') return answer;
  if (options.json) {
    io.out(`${JSON.stringify(answer.body, null, 2)}\n`);
    return 0;
  }
  const body = answer.body as { changed: boolean; woken?: number; flow?: string };
  const what = kind === 'source' ? `source ${name}` : `flow ${body.flow ?? name}`;
  const done = action === 'pause' ? 'paused' : 'resumed';
  io.out(
    body.changed
      ? `${what} ${done}${
          action === 'resume' ? `; ${body.woken ?? 0} waiting deliveries run now` : ''
        }\n`
      : `${what} was already ${done === 'paused' ? 'paused' : 'running'}\n`,
  );
  return 0;
}
