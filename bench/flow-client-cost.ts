// The flow client's own CPU per execute call (issue 15), against bench/fake-flow-api.ts.
//   node dist/bench/flow-client-cost.js                (this build)
//   BENCH_COMPARE=/tmp/before node dist/bench/flow-client-cost.js   (and a built other version)
// Each measured run is its own process: it loads a build's createFlowClient, warms up, then makes
// FLOW_CALLS (20000) calls, FLOW_CONCURRENCY (32) at a time, and reports its CPU time
// (process.cpuUsage: user + system) per call. Runs of the two builds alternate, FLOW_ROUNDS (3)
// times; the medians are printed. CPU time, not wall time: the machine is shared. With taskset,
// the fake API runs on core 0 and the client on core 1.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { FlowClient, FlowClientOptions } from '../src/flows/create-flow-client';
import { median } from './report';

const CALLS = Number(process.env.FLOW_CALLS ?? '20000');
const CONCURRENCY = Number(process.env.FLOW_CONCURRENCY ?? '32');
const ROUNDS = Number(process.env.FLOW_ROUNDS ?? '3');
const WARMUP = 2000;
const TOKEN = 'bench-flow-token';

interface RunResult {
  readonly cpuUsPerCall: number;
  readonly wallMs: number;
  readonly failures: number;
}

/** The measured process: `--client <dist dir> <url>`. */
async function client(distDir: string, url: string): Promise<void> {
  const modulePath = path.join(distDir, 'src/flows/create-flow-client.js');
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { createFlowClient } = require(modulePath) as {
    createFlowClient: (options: FlowClientOptions) => FlowClient;
  };
  const flows = createFlowClient({ baseUrl: url, token: TOKEN, timeoutMs: 10_000 });
  const variables = { repository: 'octo/repo', action: 'opened', number: 42, labels: ['a', 'b'] };
  let failures = 0;
  const calls = async (count: number): Promise<void> => {
    let next = 0;
    const lane = async () => {
      while (next < count) {
        next++;
        try {
          await flows.execute({ orgId: 'org-1', flowId: 'flow-1', variables });
        } catch {
          failures++;
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, lane));
  };
  await calls(WARMUP);
  failures = 0;
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  await calls(CALLS);
  const used = process.cpuUsage(cpu);
  const wallMs = Number(process.hrtime.bigint() - started) / 1e6;
  flows.close();
  const result: RunResult = { cpuUsPerCall: (used.user + used.system) / CALLS, wallMs, failures };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

function canPin(): boolean {
  try {
    execFileSync('taskset', ['-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function spawnOn(core: string | undefined, args: string[], env?: NodeJS.ProcessEnv): ChildProcess {
  const [command, argv] =
    core === undefined
      ? [process.execPath, args]
      : ['taskset', ['-c', core, process.execPath, ...args]];
  return spawn(command, argv, { stdio: ['ignore', 'pipe', 'inherit'], env: env ?? process.env });
}

async function startFakeApi(pin: boolean): Promise<{ url: string; child: ChildProcess }> {
  const child = spawnOn(pin ? '0' : undefined, [path.join(__dirname, 'fake-flow-api.js'), '0'], {
    ...process.env,
    FAKE_FLOW_TOKEN: TOKEN,
  });
  const port = await new Promise<string>((resolve, reject) => {
    let buffered = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /PORT=(\d+)/.exec(buffered);
      if (match) resolve(match[1]);
    });
    child.once('exit', () => reject(new Error('the fake flow API exited')));
  });
  return { url: `http://127.0.0.1:${port}`, child };
}

async function measure(distDir: string, url: string, pin: boolean): Promise<RunResult> {
  const child = spawnOn(pin ? '1' : undefined, [__filename, '--client', distDir, url]);
  let out = '';
  child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new Error(`the client run for ${distDir} exited with ${code}`);
  return JSON.parse(out.trim()) as RunResult;
}

async function main(): Promise<void> {
  const builds: [string, string][] = [['this build', path.resolve(__dirname, '..')]];
  if (process.env.BENCH_COMPARE) {
    builds.unshift(['compare', path.resolve(process.env.BENCH_COMPARE, 'dist')]);
  }
  const pin = canPin();
  const api = await startFakeApi(pin);
  const results = new Map<string, RunResult[]>(builds.map(([name]) => [name, []]));
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      for (const [name, dir] of builds) {
        const result = await measure(dir, api.url, pin);
        results.get(name)?.push(result);
        process.stdout.write(
          `round ${round} ${name}: ${result.cpuUsPerCall.toFixed(1)} µs CPU/call, ` +
            `${Math.round(result.wallMs)} ms wall, ${result.failures} failed\n`,
        );
      }
    }
  } finally {
    api.child.kill('SIGTERM');
  }
  process.stdout.write(
    `\n${CALLS} calls × ${ROUNDS} rounds, concurrency ${CONCURRENCY}${pin ? ', pinned' : ''}\n`,
  );
  for (const [name, runs] of results) {
    const cpu = runs.map((r) => r.cpuUsPerCall);
    process.stdout.write(
      `${name}: median ${median(cpu).toFixed(1)} µs CPU/call ` +
        `(runs: ${cpu.map((v) => v.toFixed(1)).join(', ')})\n`,
    );
  }
}

const [flag, distDir, url] = process.argv.slice(2);
(flag === '--client' ? client(distDir, url) : main()).catch((error: unknown) => {
  process.stderr.write(`${String(error)}\n`);
  process.exit(1);
});
