import path from 'node:path';
import { runCli } from '../../src/cli/main';

export const ROOT = path.join(__dirname, '..', '..');

/** Runs `flowhook …` in-process from the repository root; returns the exit code and what it printed. */
export async function cli(args: string[], env: Record<string, string> = {}) {
  let out = '';
  let err = '';
  const code = await runCli(args, {
    out: (t) => (out += t),
    err: (t) => (err += t),
    env,
    cwd: ROOT,
  });
  return { code, out, err };
}
