import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildOnce } from '../support/flowhook-process';
import { keepArrayBuiltinsOutOfLine } from '../../src/cli/array-builtins';

const ROOT = path.join(__dirname, '..', '..');

/**
 * How many times V8 deoptimizes a hot function that maps an array and joins the result for a
 * "wrong map", in a node of its own (the flag stays set for the process), with or without
 * keepArrayBuiltinsOutOfLine called first.
 */
function wrongMapDeopts(outOfLine: boolean): number {
  buildOnce();
  const module = path.join(ROOT, 'dist', 'src', 'cli', 'array-builtins.js');
  const program = `
    ${outOfLine ? `require(${JSON.stringify(module)}).keepArrayBuiltinsOutOfLine([]);` : ''}
    function routeNames(steps) { return steps.map((step) => step.name).join(','); }
    let length = 0;
    for (let i = 0; i < 200000; i += 1) length += routeNames([{ name: 'a' }, { name: 'b' }]).length;
    console.log(length);
  `;
  // Compiled on the main thread when hot (no background compile that a busy machine may finish
  // after the loop), and the loop itself never compiled on stack (OSR would inline routeNames into
  // it, and its deoptimization would be the loop's): the same counts however loaded the machine.
  // CI once read 0 for the control without these, with every test file running at once.
  const flags = ['--trace-deopt', '--no-concurrent-recompilation', '--no-use-osr'];
  const log = execFileSync(process.execPath, [...flags, '-e', program], {
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
  });
  expect(log).toContain('600000'); // the loop ran to its end
  return log
    .split('\n')
    .filter((line) => line.includes('reason: wrong map') && line.includes('routeNames')).length;
}

describe('keepArrayBuiltinsOutOfLine (serve: no deoptimization churn from inlined array builtins)', () => {
  it('stops the "wrong map" deoptimization of a function that maps and joins', () => {
    // The control: V8 as it is deoptimizes such a function once it is optimized. If this ever
    // finds none, V8 no longer does, and the flag may no longer be worth setting.
    expect(wrongMapDeopts(false)).toBeGreaterThan(0);
    expect(wrongMapDeopts(true)).toBe(0);
  });

  it('sets nothing when node was given the flag, either way', () => {
    expect(keepArrayBuiltinsOutOfLine(['--turbo-inline-array-builtins'])).toBe(false);
    expect(keepArrayBuiltinsOutOfLine(['--no-turbo-inline-array-builtins'])).toBe(false);
    expect(keepArrayBuiltinsOutOfLine(['--turbo_inline_array_builtins'])).toBe(false);
  });
});
