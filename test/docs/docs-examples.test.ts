// Issue 10: docs that contradict the code. Every mapping-file example in README.md and docs/
// must pass `flowhook validate`, and every flag a documented `flowhook …` command uses must exist.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { load } from 'js-yaml';
import { buildCli } from '../../src/cli/main';
import { cli, ROOT } from '../support/cli';

const DOCS = [
  'README.md',
  ...fs
    .readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

interface Block {
  readonly file: string;
  readonly line: number;
  readonly lang: string;
  readonly text: string;
  /** The line before the fence (an HTML comment there can mark an example as deliberately broken). */
  readonly before: string;
}

function codeBlocks(file: string): Block[] {
  const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)```(\w*)/.exec(lines[i]);
    if (!open) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^\s*```\s*$/.test(lines[i]); i++) {
      body.push(lines[i].slice(open[1].length));
    }
    const before =
      lines
        .slice(0, start)
        .reverse()
        .find((l) => l.trim() !== '') ?? '';
    blocks.push({ file, line: start + 1, lang: open[2], text: body.join('\n'), before });
  }
  return blocks;
}

const blocks = DOCS.flatMap(codeBlocks);

/** A whole mapping file (not a fragment such as a lone verify block): it has verify and routes. */
function isMappingFile(block: Block): boolean {
  if (block.lang !== 'yaml' || block.before.includes('not a valid mapping')) return false;
  let doc: unknown;
  try {
    doc = load(block.text);
  } catch {
    // Several alternatives in one block (`respond: a` then `respond: b`) are not one file; a file
    // that does not parse is a mistake, and validate says where.
    return /^routes:/m.test(block.text) && /^verify:/m.test(block.text);
  }
  return doc !== null && typeof doc === 'object' && 'routes' in doc && 'verify' in doc;
}

const examples = blocks.filter(isMappingFile);

describe('docs: every mapping-file example passes flowhook validate', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(5);
  });

  it.each(examples.map((b) => [`${b.file}:${b.line}`, b] as const))('%s', async (_where, block) => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'flowhook-docs-'));
    try {
      fs.writeFileSync(path.join(dir, 'example.yaml'), block.text);
      const result = await cli(['validate', dir]);
      if (result.code !== 0) {
        throw new Error(
          `the YAML example at ${block.file}:${block.line} does not pass flowhook validate:\n${result.err}${result.out}`,
        );
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

/** The flags each command takes (long and short), and the program's own. */
function knownFlags(): Map<string, Set<string>> {
  const program = buildCli(undefined, undefined, true);
  const flags = new Map<string, Set<string>>();
  for (const command of program.commands) {
    const names = new Set(['--help', '-h']);
    for (const option of command.options) {
      if (option.long) names.add(option.long);
      if (option.short) names.add(option.short);
    }
    flags.set(command.name(), names);
  }
  return flags;
}

/** Each `flowhook <command> …` in the docs' code, with the flags written after it on that line. */
function documentedUses(): { where: string; command: string; flags: string[] }[] {
  const uses: { where: string; command: string; flags: string[] }[] = [];
  for (const file of DOCS) {
    const lines = fs.readFileSync(path.join(ROOT, file), 'utf8').split('\n');
    lines.forEach((line, index) => {
      for (const match of line.matchAll(/\bflowhook (\w[\w-]*)([^`|;&)]*)/g)) {
        const flags = [...match[2].matchAll(/(?:^|\s)(--?[A-Za-z][\w-]*)/g)].map((m) => m[1]);
        uses.push({ where: `${file}:${index + 1}`, command: match[1], flags });
      }
    });
  }
  return uses;
}

describe('docs: every documented CLI flag exists', () => {
  const flags = knownFlags();
  const uses = documentedUses().filter((use) => flags.has(use.command) && use.flags.length > 0);

  it('finds documented uses', () => {
    expect(uses.length).toBeGreaterThan(5);
  });

  it.each(uses.map((use) => [`${use.where} flowhook ${use.command}`, use] as const))(
    '%s',
    (_where, use) => {
      const unknown = use.flags.filter((flag) => !flags.get(use.command)?.has(flag));
      if (unknown.length > 0) {
        throw new Error(
          `${use.where}: flowhook ${use.command} has no ${unknown.join(', ')} (it takes ${[...(flags.get(use.command) ?? [])].join(', ')})`,
        );
      }
    },
  );
});
