import type { CliIo } from './cli-io';
import { callAdminApi, type AttemptView } from './deliveries-command';

export interface ReplayOptions {
  url?: string;
  json?: boolean;
}

interface ReplayAnswer {
  deliveryId: string;
  state: string;
  mappingVersion: string;
  attempts: AttemptView[];
  nextAttemptAt?: string;
}

/**
 * `flowhook replay <id>`: asks a running flowhook to run a stored delivery again through its
 * current mappings (POST /api/deliveries/:id/replay) and prints the new attempts. Exit 0 when the
 * replay ran (whatever the flow API answered: see the state), 1 when it was refused or nothing
 * answered, 2 when ADMIN_TOKEN is not set.
 */
export async function replayCommand(
  deliveryId: string,
  options: ReplayOptions,
  io: CliIo,
): Promise<number> {
  const answer = await callAdminApi(
    'replay',
    'POST',
    `/api/deliveries/${encodeURIComponent(deliveryId)}/replay`,
    options.url,
    io,
  );
  if (typeof answer === 'number') return answer;
  if (options.json) {
    io.out(`${JSON.stringify(answer.body, null, 2)}\n`);
    return 0;
  }
  const replay = answer.body as ReplayAnswer;
  io.out(
    `delivery ${replay.deliveryId} replayed with mapping version ${replay.mappingVersion}: ${replay.state}\n`,
  );
  for (const a of replay.attempts) {
    const outcome =
      a.outcome === 'succeeded'
        ? `succeeded, session ${a.sessionId ?? '-'}`
        : `failed${a.httpStatus === null ? '' : ` (${a.httpStatus})`}: ${a.error?.code ?? 'error'}: ${a.error?.message ?? ''}`;
    io.out(
      `  attempt ${a.number}: route ${a.route} → flow ${a.flowId}: ${outcome} (${a.durationMs} ms)\n`,
    );
  }
  if (replay.nextAttemptAt !== undefined) {
    io.out(`  queued: the next attempt is due at ${replay.nextAttemptAt}\n`);
  }
  return 0;
}
