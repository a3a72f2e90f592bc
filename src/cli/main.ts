import { Command } from 'commander';
import { ConfigError } from '../config';
import { MappingsDirError } from '../mappings/load-mappings';
import { startServer } from '../server';
import { processIo, type CliIo } from './cli-io';
import { testCommand, type TestOptions } from './test-command';
import { validateCommand } from './validate-command';
import { version } from '../../package.json';

/** Stops the process gracefully: stop accepting, let in-flight requests finish, then exit. */
const SHUTDOWN_GRACE_MS = 10_000;

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** The command line; `setExit` receives each command's exit code (tests run it in-process). */
export function buildCli(
  io: CliIo = processIo,
  setExit: (code: number) => void = () => {},
  inProcess = false,
): Command {
  const program = new Command('flowhook')
    .description('Turns third-party webhooks into flow executions.')
    .version(version)
    .configureOutput({ writeOut: io.out, writeErr: io.err });
  // In-process (tests): --help and usage errors throw instead of exiting. Subcommands copy this
  // setting when they are created, so it comes first.
  if (inProcess) program.exitOverride();

  program
    .command('validate')
    .argument('[dir]', 'folder of mapping files (default: MAPPINGS_DIR or ./mappings)')
    .description(
      'Check every mapping file; print each problem with file, line, column and key path. Exit 0 when all are valid.',
    )
    .option('--json', 'print the result as JSON')
    .action((dir: string | undefined, options: { json?: boolean }) =>
      setExit(validateCommand(dir, options, io)),
    );

  program
    .command('test')
    .argument('<source>', 'the source name (the URL segment of POST /hooks/{source})')
    .argument('<payload-file>', 'a file with the request body (JSON or form-encoded)')
    .description(
      'Show what a request would do, without a signature: each route and condition (value found, operator, held), then the variables and the exact execute request. Exit 0 when a route matched.',
    )
    .option('-H, --header <name:value>', 'a request header (repeatable)', collect)
    .option('-q, --query <key=value>', 'a query parameter (repeatable)', collect)
    .option('--mappings <dir>', 'folder of mapping files (default: MAPPINGS_DIR or ./mappings)')
    .option('--json', 'print the explanation as JSON')
    .action((source: string, file: string, options: TestOptions) =>
      setExit(testCommand(source, file, options, io)),
    );

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

/** Runs a command to its end and returns its exit code (serve aside: it keeps running). */
export async function runCli(args: readonly string[], io: CliIo): Promise<number> {
  let code = 0;
  const program = buildCli(io, (c) => (code = c), true);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    const exitCode = (error as { exitCode?: number }).exitCode;
    if (typeof exitCode === 'number') return exitCode;
    if (error instanceof MappingsDirError) {
      io.err(`flowhook: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  return code;
}

export async function main(argv: readonly string[]): Promise<void> {
  try {
    await buildCli(processIo, (code) => (process.exitCode = code)).parseAsync([...argv]);
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
