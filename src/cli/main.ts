import { Command } from 'commander';
import { ConfigError } from '../config';
import { MappingsDirError } from '../mappings/load-mappings';
import { processIo, type CliIo } from './cli-io';
import type { DeliveriesOptions } from './deliveries-command';
import { keepArrayBuiltinsOutOfLine } from './array-builtins';
import { limitHeapGrowth } from './heap-growth';
import { loadDotEnv, type DotEnv } from './load-dot-env';
import type { LimitsOptions } from './limits-command';
import type { PauseOptions } from './pause-command';
import type { ReplayOptions } from './replay-command';
import type { SendOptions } from './send-command';
import type { SignOptions } from './sign-command';
import type { TestOptions } from './test-command';
import type { ValidateOptions } from './validate-command';
import { version } from '../../package.json';

/** Stops the process gracefully: stop accepting, let in-flight requests finish, then exit. */
const SHUTDOWN_GRACE_MS = 10_000;

/** How often `serve` checks that the process that started it still runs. */
const PARENT_CHECK_MS = 1000;

/** What `.env` in the working directory set (main reads it once, before any command). */
let dotEnv: DotEnv | undefined;

/**
 * A command's module, loaded when the command runs: `serve` does not hold what the other commands
 * use (and they do not load the server), which keeps the server's memory down.
 */
function command<T>(id: string): T {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(id) as T;
}

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
      'Check every mapping file; print every problem of every file with file, line, column and key path. Exit 0 when all are valid.',
    )
    .option('--json', 'print the result as JSON')
    .option(
      '--strict',
      'an unset ${VAR} is an error too: exit 1 when a source would wait for a variable (for CI)',
    )
    .addHelpText(
      'after',
      `
An unset variable is reported where the file uses it, with a "did you mean" when a set variable
is one edit away; the source waits for it (503 until it is set). Without --strict that is not an
error: a file may be checked before its secrets exist.
Exit 0 when every file is valid, 1 when one has a problem (with --strict: or waits for a variable).

Example (CI, with the deployment's variables set):
  flowhook validate --strict mappings
`,
    )
    .action((dir: string | undefined, options: ValidateOptions) =>
      setExit(
        command<typeof import('./validate-command')>('./validate-command').validateCommand(
          dir,
          options,
          io,
        ),
      ),
    );

  const urlHelp = 'the running flowhook (default: http://127.0.0.1:$PORT, PORT default 3000)';

  program
    .command('test')
    .argument('[source]', 'the source name (the URL segment of POST /hooks/{source})')
    .argument('[payload-file]', 'a file with the request body (JSON or form-encoded)')
    .description(
      'Show what a request would do, without a signature: each route and condition (value found, operator, held), then the variables and the exact execute request. Exit 0 when a route matched.',
    )
    .option('-H, --header <name:value>', 'a request header (repeatable)', collect)
    .option('-q, --query <key=value>', 'a query parameter (repeatable)', collect)
    .option(
      '--mappings <dir-or-file>',
      'folder of mapping files (default: MAPPINGS_DIR or ./mappings), or one mapping file',
    )
    .option(
      '--delivery <id>',
      "try a stored delivery's request (exact body, headers, query) instead of a payload file, fetched from a running flowhook with ADMIN_TOKEN",
    )
    .option('--url <base>', `with --delivery: ${urlHelp}`)
    .option('--json', 'print the explanation as JSON')
    .addHelpText(
      'after',
      `
With --delivery, the request comes from a running flowhook's delivery log (GET /api/deliveries/:id,
with ADMIN_TOKEN from the environment, as flowhook deliveries) and goes through the mappings here
(the delivery's source, or <source>). Its signature was verified when it was received; it is
checked again when the secret is set here and the stored request still carries it (stored
requests keep no credentials, so usually it is not, and the output says so).
Exit 0 when a route matched and its variables were complete, 1 otherwise (or when the delivery
could not be fetched), 2 for a usage problem.

Examples:
  flowhook test github push.json -H 'X-GitHub-Event: push'
  ADMIN_TOKEN=… flowhook test --delivery 0b5d1c9e-3f0e-4c1a-9a56-2f4f8f6f7b21
  ADMIN_TOKEN=… flowhook test --delivery 0b5d1c9e-… --mappings drafts/stripe.yaml
`,
    )
    .action(
      async (
        source: string | undefined,
        file: string | undefined,
        options: TestOptions & { delivery?: string; url?: string },
      ) => {
        if (options.delivery !== undefined) {
          if (file !== undefined) {
            io.err(
              'flowhook test: --delivery takes the request from the stored delivery; give no payload file\n',
            );
            return setExit(2);
          }
          return setExit(
            await command<typeof import('./test-delivery-command')>(
              './test-delivery-command',
            ).testDeliveryCommand(options.delivery, source, options, io),
          );
        }
        if (source === undefined || file === undefined) {
          io.err('flowhook test: give <source> <payload-file>, or --delivery <id>\n');
          return setExit(2);
        }
        setExit(
          command<typeof import('./test-command')>('./test-command').testCommand(
            source,
            file,
            options,
            io,
          ),
        );
      },
    );

  const secretNote = `
The source's verify block is read from its mapping file with this environment: set its secret
variable to the value the running flowhook (and the provider) has. It signs with the first
secret (during a rotation, the newest) at the current time, exactly as the provider's sender.
Mailgun cannot be signed (its signature is inside the body).
`;

  program
    .command('sign')
    .argument('<source>', 'the source name (the URL segment of POST /hooks/{source})')
    .argument('<payload-file>', 'a file with the request body, sent byte for byte')
    .description(
      "Print the headers the source's sender would send for this payload (signed with its secret from the environment, now), as -H lines and a ready-to-run curl command.",
    )
    .option('-H, --header <name:value>', 'a header the request carries too (repeatable)', collect)
    .option(
      '-q, --query <key=value>',
      'a query parameter (repeatable; URL-signing providers sign it)',
      collect,
    )
    .option('--url <base>', urlHelp)
    .option('--mappings <dir>', 'folder of mapping files (default: MAPPINGS_DIR or ./mappings)')
    .option('--json', 'print {url, headers, signed, curl, …} as JSON')
    .addHelpText(
      'after',
      `${secretNote}
Exit 0 when printed, 1 when the payload cannot be signed (the reason says what to change),
2 for a usage problem (unknown source, unset secret, unreadable file).

Example:
  GITHUB_WEBHOOK_SECRET=dev-secret flowhook sign github push.json -H 'X-GitHub-Event: push'
`,
    )
    .action((source: string, file: string, options: SignOptions) =>
      setExit(
        command<typeof import('./sign-command')>('./sign-command').signCommand(
          source,
          file,
          options,
          io,
        ),
      ),
    );

  program
    .command('send')
    .argument('<source>', 'the source name (the URL segment of POST /hooks/{source})')
    .argument('<payload-file>', 'a file with the request body, sent byte for byte')
    .description(
      'Sign the payload as `flowhook sign` does and POST it to a running flowhook (<url>/hooks/<source>); print the status and the answer.',
    )
    .option('-H, --header <name:value>', 'a request header (repeatable)', collect)
    .option('-q, --query <key=value>', 'a query parameter (repeatable)', collect)
    .option('--url <base>', urlHelp)
    .option('--mappings <dir>', 'folder of mapping files (default: MAPPINGS_DIR or ./mappings)')
    .addHelpText(
      'after',
      `${secretNote}
The content type is guessed (JSON if the payload parses, else a form) unless -H 'Content-Type: …'.
Exit 0 on a 2xx answer, 1 on any other answer (or none), 2 for a usage problem.

Example:
  GITHUB_WEBHOOK_SECRET=dev-secret flowhook send github push.json -H 'X-GitHub-Event: push'
`,
    )
    .action(async (source: string, file: string, options: SendOptions) =>
      setExit(
        await command<typeof import('./send-command')>('./send-command').sendCommand(
          source,
          file,
          options,
          io,
        ),
      ),
    );

  const adminUrlHelp = 'the running flowhook (default: http://127.0.0.1:$PORT, PORT default 3000)';
  const adminNote = `
It calls the admin API of a running flowhook with ADMIN_TOKEN from the environment (the same
value the running flowhook has). Exit 0 on a 2xx answer, 1 on any other answer (or none), 2 when
ADMIN_TOKEN is not set.
`;

  program
    .command('deliveries')
    .argument('[delivery-id]', 'show this delivery: its routing explanation and attempts')
    .description(
      'List stored deliveries of a running flowhook, newest first (GET /api/deliveries), or show one with the routing explanation stored when it was received.',
    )
    .option(
      '--status <state>',
      'only this state: queued, running, succeeded, failed, dead, ignored',
    )
    .option('--source <name>', 'only this source')
    .option('--route <name>', 'only deliveries that chose this route')
    .option('--flow <id>', 'only deliveries that chose a route running this flow')
    .option(
      '--search <id>',
      "flowhook's delivery id (whole, or its first or last 8+ characters) or the provider's",
    )
    .option('--since <when>', 'received at or after: an ISO 8601 date or epoch ms')
    .option('--until <when>', 'received before: an ISO 8601 date or epoch ms')
    .option('--limit <n>', 'how many, 1 to 500 (default 50)')
    .option('--cursor <cursor>', 'the next page (printed after a full page)')
    .option('--url <base>', adminUrlHelp)
    .option('--json', "print the API's answer as JSON")
    .addHelpText(
      'after',
      `${adminNote}
Example:
  ADMIN_TOKEN=… flowhook deliveries --status dead
  ADMIN_TOKEN=… flowhook deliveries 0b5d1c9e-3f0e-4c1a-9a56-2f4f8f6f7b21
`,
    )
    .action(async (id: string | undefined, options: DeliveriesOptions) =>
      setExit(
        await command<typeof import('./deliveries-command')>(
          './deliveries-command',
        ).deliveriesCommand(options, io, id),
      ),
    );

  program
    .command('replay')
    .argument('<delivery-id>', 'the id of a stored delivery (flowhook deliveries lists them)')
    .description(
      "Run a stored delivery's request again through the current mappings, as a new attempt (POST /api/deliveries/:id/replay). The signature is not checked again.",
    )
    .option('--url <base>', adminUrlHelp)
    .option('--json', "print the API's answer as JSON")
    .addHelpText(
      'after',
      `${adminNote}
A replay that ran exits 0 whatever the flow API answered: the printed state says how it ended.

Example:
  ADMIN_TOKEN=… flowhook replay 0b5d1c9e-3f0e-4c1a-9a56-2f4f8f6f7b21
`,
    )
    .action(async (id: string, options: ReplayOptions) =>
      setExit(
        await command<typeof import('./replay-command')>('./replay-command').replayCommand(
          id,
          options,
          io,
        ),
      ),
    );

  for (const action of ['pause', 'resume'] as const) {
    program
      .command(action)
      .argument('<kind>', 'source or flow')
      .argument('<name>', 'the source name, or the flow id')
      .description(
        action === 'pause'
          ? 'Pause a source or a flow in the running flowhook: its deliveries are still verified, stored and answered, and run nothing until resumed. Kept in the store: every instance obeys it, and it survives restarts.'
          : 'Resume a paused source or flow: the deliveries that waited run now.',
      )
      .option('--org <org-id>', "the flow's org (default: FLOW_ORG_ID of the running flowhook)")
      .option('--url <base>', adminUrlHelp)
      .option('--json', "print the API's answer as JSON")
      .addHelpText(
        'after',
        `${adminNote}
Example:
  ADMIN_TOKEN=… flowhook ${action} source stripe
  ADMIN_TOKEN=… flowhook ${action} flow 3f1c…-order-flow --org my-org
`,
      )
      .action(async (kind: string, name: string, options: PauseOptions) =>
        setExit(
          await command<typeof import('./pause-command')>('./pause-command').pauseCommand(
            action,
            kind,
            name,
            options,
            io,
          ),
        ),
      );
  }

  program
    .command('limits')
    .description(
      "Show every flow's limits, circuit, 429 block and running calls, and the pauses, of the running flowhook (GET /api/limits).",
    )
    .option('--url <base>', adminUrlHelp)
    .option('--json', "print the API's answer as JSON")
    .addHelpText('after', adminNote)
    .action(async (options: LimitsOptions) =>
      setExit(
        await command<typeof import('./limits-command')>('./limits-command').limitsCommand(
          options,
          io,
        ),
      ),
    );

  program
    .command('serve')
    .description(
      'Run the HTTP service: POST /hooks/:source, GET /healthz, GET /readyz. Configured by environment variables (see README).',
    )
    .action(async () => {
      // Before the server loads: the old generation's growth is capped from the first collection,
      // and no hot function is compiled with the array builtins inlined.
      limitHeapGrowth();
      keepArrayBuiltinsOutOfLine();
      const running = await command<typeof import('../server')>('../server').startServer();
      if (dotEnv) {
        // Names only: the values are secrets.
        running.logger.info(
          { file: dotEnv.file, loaded: dotEnv.loaded, environmentWins: dotEnv.kept },
          `read ${dotEnv.loaded.length} variable(s) from .env; the environment wins over it`,
        );
      }
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
      // `kill <pid of npm start>` ends npm without passing the signal on: under npm, when the npm
      // process is gone (the parent pid changes to the reaper's), stop as if it was SIGTERM.
      // Only under npm: a server started directly outlives the shell that started it (nohup).
      if (process.env.npm_lifecycle_event !== undefined) {
        const parent = process.ppid;
        setInterval(() => {
          if (process.ppid !== parent) stop('npm exited');
        }, PARENT_CHECK_MS).unref();
      }
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
    dotEnv = loadDotEnv(process.cwd(), process.env);
  } catch (error) {
    console.error(`flowhook: cannot start: ${(error as Error).message}`);
    process.exit(1);
  }
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
