// Summarizes a V8 .cpuprofile (as written by `node --cpu-prof`): self time per function and per
// package. Used by `bench/run.ts --profile`; also runs alone:
//   node dist/bench/summarize-profile.js <file.cpuprofile> [top=25]
import fs from 'node:fs';
import { SourceMap, type SourceMapPayload } from 'node:module';
import path from 'node:path';

export interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface SummaryOptions {
  /** How many functions to list (default 25). */
  top?: number;
  /**
   * Keep only samples taken in this window, in microseconds of the monotonic clock
   * (`process.hrtime.bigint() / 1000n`, the clock V8 stamps samples with on Linux). When the
   * window does not overlap the profile, every sample is kept and the summary says so.
   */
  windowUs?: { start: number; end: number };
  /** Project root: paths under it are shown relative, and `<root>/dist/src`, `<root>/src` are
   * flowhook's own code. Default: the current directory. */
  root?: string;
}

export interface Entry {
  label: string;
  group: string;
  samples: number;
}

export interface Summary {
  totalSamples: number;
  idleSamples: number;
  windowed: boolean;
  windowNote: string;
  intervalUs: number;
  functions: Entry[];
  groups: { group: string; samples: number }[];
}

/** Pseudo-frames V8 names in parentheses (a Map: a frame named `toString` is not one of them). */
const SPECIAL = new Map<string, string>([
  ['(idle)', '(idle: waiting for I/O)'],
  ['(program)', '(program: V8/native, not JS)'],
  ['(garbage collector)', '(garbage collector)'],
  ['(root)', '(root)'],
]);

function toPath(url: string): string {
  return url.startsWith('file://') ? decodeURIComponent(new URL(url).pathname) : url;
}

/** Which package a script belongs to: node_modules/<pkg>, node internals, flowhook src, ... */
export function groupOf(frame: CallFrame, root: string): string {
  const { functionName, url } = frame;
  if (url === '') {
    return SPECIAL.get(functionName) ?? 'native (V8 builtins, C++ bindings: JSON, writev, crypto…)';
  }
  if (url.startsWith('node:')) {
    return 'node internals';
  }
  const file = toPath(url);
  const marker = '/node_modules/';
  const at = file.lastIndexOf(marker);
  if (at >= 0) {
    const parts = file.slice(at + marker.length).split('/');
    const name = parts[0].startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0];
    return `node_modules/${name}`;
  }
  const rel = path.relative(root, file);
  if (!rel.startsWith('..')) {
    if (rel.startsWith(`dist${path.sep}src${path.sep}`) || rel.startsWith(`src${path.sep}`)) {
      return 'flowhook src';
    }
    if (rel.startsWith(`dist${path.sep}bench${path.sep}`) || rel.startsWith(`bench${path.sep}`)) {
      return 'bench';
    }
  }
  return 'other';
}

const sourceMaps = new Map<string, SourceMap | null>();

/** The .ts position of a compiled project file's function, through its .js.map when present. */
function original(file: string, line: number, column: number): { file: string; line: number } {
  let map = sourceMaps.get(file);
  if (map === undefined) {
    map = null;
    try {
      const payload = JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')) as SourceMapPayload;
      map = new SourceMap(payload);
    } catch {
      // no map: keep the compiled position
    }
    sourceMaps.set(file, map);
  }
  const entry = map?.findEntry(line, column);
  if (entry !== undefined && 'originalSource' in entry) {
    const source = entry.originalSource.startsWith('file://')
      ? toPath(entry.originalSource)
      : path.resolve(path.dirname(file), entry.originalSource);
    return { file: source, line: entry.originalLine };
  }
  return { file, line };
}

export function labelOf(frame: CallFrame, group: string, root: string): string {
  const name = frame.functionName || '(anonymous)';
  if (frame.url === '') {
    return name;
  }
  // line and column are 0-based in the profile
  let where = { file: toPath(frame.url), line: frame.lineNumber };
  if (group === 'flowhook src' || group === 'bench') {
    where = original(where.file, frame.lineNumber, frame.columnNumber);
  }
  let file = where.file;
  if (!file.startsWith('node:')) {
    const rel = path.relative(root, file);
    if (!rel.startsWith('..')) {
      file = rel;
    }
  }
  return `${name} ${file}:${where.line + 1}`;
}

export function summarize(profile: CpuProfile, options: SummaryOptions = {}): Summary {
  const root = path.resolve(options.root ?? process.cwd());
  const top = options.top ?? 25;
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
  }

  // Sample i was taken at startTime + sum(timeDeltas[0..i]).
  const stamps: number[] = new Array<number>(profile.samples.length);
  let t = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    stamps[i] = t;
  }

  let keep: (i: number) => boolean = () => true;
  let windowed = false;
  let windowNote = 'whole profile (start-up and warm-up included)';
  const w = options.windowUs;
  if (w !== undefined) {
    const overlaps = w.start < profile.endTime && w.end > profile.startTime;
    if (overlaps) {
      keep = (i) => stamps[i] >= w.start && stamps[i] <= w.end;
      windowed = true;
      windowNote = `measured run only (${((w.end - w.start) / 1e6).toFixed(1)} s window)`;
    } else {
      windowNote += '; the measured-run window did not match the profile clock';
    }
  }

  const perFunction = new Map<string, Entry>();
  const perGroup = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    if (!keep(i)) {
      continue;
    }
    const node = byId.get(profile.samples[i]);
    if (node === undefined) {
      continue;
    }
    total++;
    const frame = node.callFrame;
    if (frame.url === '' && frame.functionName === '(idle)') {
      idle++;
    }
    const key = `${frame.functionName}\u0000${frame.url}\u0000${frame.lineNumber}`;
    let entry = perFunction.get(key);
    if (entry === undefined) {
      const group = groupOf(frame, root);
      entry = { label: labelOf(frame, group, root), group, samples: 0 };
      perFunction.set(key, entry);
    }
    entry.samples++;
    perGroup.set(entry.group, (perGroup.get(entry.group) ?? 0) + 1);
  }

  const durationUs = profile.endTime - profile.startTime;
  return {
    totalSamples: total,
    idleSamples: idle,
    windowed,
    windowNote,
    intervalUs: profile.samples.length > 0 ? durationUs / profile.samples.length : 0,
    functions: [...perFunction.values()].sort((a, b) => b.samples - a.samples).slice(0, top),
    groups: [...perGroup.entries()]
      .map(([group, samples]) => ({ group, samples }))
      .sort((a, b) => b.samples - a.samples),
  };
}

function pct(part: number, whole: number): string {
  return whole > 0 ? `${((100 * part) / whole).toFixed(1)}%` : '-';
}

function truncate(text: string, width: number): string {
  return text.length <= width ? text : `…${text.slice(text.length - width + 1)}`;
}

export function formatSummary(summary: Summary): string {
  const { totalSamples: total, idleSamples: idle } = summary;
  const busy = total - idle;
  const lines: string[] = [];
  lines.push(
    `samples: ${total} (${summary.windowNote}), ~${Math.round(summary.intervalUs)} µs apart; ` +
      `idle ${pct(idle, total)}, busy ${pct(busy, total)}`,
  );
  lines.push('"% all" is of every sample, "% busy" of the non-idle ones.');
  lines.push('');
  lines.push(`Top ${summary.functions.length} functions by self time:`);
  lines.push(`${'% all'.padStart(6)} ${'% busy'.padStart(6)}  function  [group]`);
  for (const f of summary.functions) {
    const ofBusy = f.label.startsWith('(idle)') ? '' : pct(f.samples, busy);
    lines.push(
      `${pct(f.samples, total).padStart(6)} ${ofBusy.padStart(6)}  ${truncate(f.label, 90)}  [${f.group}]`,
    );
  }
  lines.push('');
  lines.push('Self time by package:');
  for (const g of summary.groups) {
    const ofBusy = g.group.startsWith('(idle') ? '' : pct(g.samples, busy);
    lines.push(`${pct(g.samples, total).padStart(6)} ${ofBusy.padStart(6)}  ${g.group}`);
  }
  return lines.join('\n');
}

export function summarizeProfileFile(file: string, options: SummaryOptions = {}): string {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  return formatSummary(summarize(profile, options));
}

if (require.main === module) {
  const file = process.argv[2];
  if (file === undefined) {
    console.error('usage: node dist/bench/summarize-profile.js <file.cpuprofile> [top]');
    process.exit(2);
  }
  const top = Number(process.argv[3] ?? '25');
  console.log(summarizeProfileFile(file, { top }));
}
