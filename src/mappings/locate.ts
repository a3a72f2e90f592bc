import type { Node } from 'yaml';
import type { KeyPath } from '../path-error';

export interface Position {
  readonly line: number;
  readonly column: number;
}

/**
 * Where a key path sits in a YAML text (1-based line and column), for error messages. Only the
 * error path parses with `yaml`, which keeps source positions; loading stays with js-yaml.
 * `key: true` points at the last key itself rather than its value (for "unknown key" errors).
 * Falls back to the deepest ancestor that exists.
 */
export function locate(text: string, path: KeyPath, key = false): Position | undefined {
  // `yaml` (~70 modules, a few MB of memory) is loaded at the first error to place, not at start.
  const { isMap, isScalar, isSeq, LineCounter, parseDocument } =
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    require('yaml') as typeof import('yaml');
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, keepSourceTokens: false });
  let node: unknown = document.contents;
  let offset = (node as Node | null)?.range?.[0];
  for (const [index, part] of path.entries()) {
    const last = index === path.length - 1;
    if (isMap(node)) {
      const pair = node.items.find(
        (item) => isScalar(item.key) && String(item.key.value) === String(part),
      );
      if (pair === undefined) break;
      const keyNode = pair.key as Node;
      if (last && key) {
        offset = keyNode.range?.[0];
        break;
      }
      node = pair.value;
      offset = (pair.value as Node | null)?.range?.[0] ?? keyNode.range?.[0];
    } else if (isSeq(node) && typeof part === 'number') {
      node = node.items[part];
      if (node === undefined) break;
      offset = (node as Node).range?.[0];
    } else break;
  }
  if (offset === undefined) return undefined;
  const { line, col } = lineCounter.linePos(offset);
  return { line, column: col };
}
