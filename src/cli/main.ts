import { Command } from 'commander';
import { ConfigError } from '../config';
import { MappingsDirError } from '../mappings/load-mappings';
import { startServer } from '../server';
import { version } from '../../package.json';

/** Stops the process gracefully: stop accepting, let in-flight requests finish, then exit. */
const SHUTDOWN_GRACE_MS = 10_000;

export function buildCli(): Command {
  const program = new Command('flowhook')
    .description('Turns third-party webhooks into flow executions.')
    .version(version);

  program
    .command('serve')
    .description(
      'Run the HTTP service: POST /hooks/:source, GET /healthz, GET /readyz. Configured by environment variables (see README).',
    )
    .action(async () => {
      const running = await startServer();
      let stopping = false;
      const stop = (signal: string) => {
        if (stopping) return;
        stopping = true;
        running.logger.info(
          { signal, graceMs: SHUTDOWN_GRACE_MS },
          'stopping: no new connections, finishing in-flight requests',
        );
        setTimeout(() => {
          running.logger.error('stopped before in-flight requests finished (grace period over)');
          running.logger.flush();
          process.exit(1);
        }, SHUTDOWN_GRACE_MS).unref();
        void running.close().then(() => {
          running.logger.info('stopped');
          running.logger.flush();
          process.exit(0);
        });
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
  return program;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildCli().parseAsync([...argv]);
  } catch (error) {
    if (error instanceof ConfigError || error instanceof MappingsDirError) {
      // One clear line naming the variable, and a non-zero exit: the start stops here.
      console.error(`flowhook: cannot start: ${error.message}`);
      process.exit(1);
    }
    throw error;
  }
}

if (require.main === module) void main(process.argv);
