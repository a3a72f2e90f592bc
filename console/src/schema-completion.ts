import type { Completion, CompletionContext, CompletionResult } from '@codemirror/autocomplete';
import mappingSchema from '../../schema/mapping.schema.json';
import verifySchema from '../../schema/verify.schema.json';

/** The parts of JSON Schema (draft-07) that completion reads. */
interface SchemaNode {
  $ref?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  enum?: unknown[];
  const?: unknown;
  definitions?: Record<string, SchemaNode>;
}

const FILES: Record<string, SchemaNode> = {
  'mapping.schema.json': mappingSchema as unknown as SchemaNode,
  'verify.schema.json': verifySchema as unknown as SchemaNode,
};

/** A node with its $refs followed and its oneOf/anyOf/allOf spread into alternatives. */
function expand(
  node: SchemaNode | undefined,
  file: SchemaNode,
  depth = 0,
): { node: SchemaNode; file: SchemaNode }[] {
  if (node === undefined || depth > 12) return [];
  if (node.$ref !== undefined) {
    const [name, pointer] = node.$ref.split('#');
    const target = name ? FILES[name] : file;
    if (target === undefined) return [];
    let resolved: SchemaNode | undefined = target;
    for (const part of (pointer ?? '').split('/').filter(Boolean)) {
      resolved = (resolved as Record<string, unknown> | undefined)?.[part] as
        SchemaNode | undefined;
    }
    return expand(resolved, target, depth + 1);
  }
  const alternatives = [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? [])];
  return [{ node, file }, ...alternatives.flatMap((alt) => expand(alt, file, depth + 1))];
}

type Segment = string | number;

function schemaAt(path: readonly Segment[]): { node: SchemaNode; file: SchemaNode }[] {
  let nodes = expand(FILES['mapping.schema.json'], FILES['mapping.schema.json']);
  for (const segment of path) {
    nodes = nodes.flatMap(({ node, file }) =>
      expand(typeof segment === 'number' ? node.items : node.properties?.[segment], file),
    );
  }
  return nodes;
}

const BLOCK_KEY = /^(\s*)(- )?([A-Za-z0-9_.-]+):\s*(#.*)?$/;
const ANY_LINE = /^(\s*)(- )?/;

/** The key path of the mapping that a key typed at `column` of line `index` belongs to. */
export function pathAt(
  lines: readonly string[],
  index: number,
  column: number,
  isItem: boolean,
  dashColumn: number,
): Segment[] {
  const path: Segment[] = [];
  let indent = column;
  let allowEqual = false;
  if (isItem) {
    path.unshift(0);
    indent = dashColumn;
    allowEqual = true;
  }
  for (let i = index - 1; i >= 0 && indent > 0; i--) {
    const line = lines[i];
    if (line.trim() === '' || line.trim().startsWith('#')) continue;
    const lead = ANY_LINE.exec(line) as RegExpExecArray;
    const spaces = lead[1].length;
    const dash = lead[2] !== undefined;
    const keyColumn = dash ? spaces + 2 : spaces;
    if (dash && keyColumn === indent && !allowEqual) {
      // A sibling key in the same list item: this line starts the item.
      path.unshift(0);
      indent = spaces;
      allowEqual = true;
      continue;
    }
    const block = BLOCK_KEY.exec(line);
    if (block && (keyColumn < indent || (allowEqual && keyColumn === indent && !dash))) {
      path.unshift(block[3]);
      indent = keyColumn;
      allowEqual = false;
      if (dash) {
        path.unshift(0);
        indent = spaces;
        allowEqual = true;
      }
    }
  }
  return path;
}

function describe(node: SchemaNode): string | undefined {
  return node.description;
}

/**
 * Completion from schema/mapping.schema.json: at a key, the keys the schema allows at that place
 * (with their descriptions); after `key: `, the values of its enum.
 */
export function schemaCompletion(context: CompletionContext): CompletionResult | null {
  const line = context.state.doc.lineAt(context.pos);
  const before = line.text.slice(0, context.pos - line.from);
  const lines: string[] = [];
  for (let n = 1; n < line.number; n++) lines.push(context.state.doc.line(n).text);

  const value = /^(\s*)(- )?([A-Za-z0-9_.-]+):\s+([A-Za-z0-9_-]*)$/.exec(before);
  if (value) {
    const isItem = value[2] !== undefined;
    const column = value[1].length + (isItem ? 2 : 0);
    const path = pathAt(lines, lines.length, column, isItem, value[1].length);
    const options: Completion[] = [];
    for (const { node } of schemaAt([...path, value[3]])) {
      for (const item of node.enum ?? []) {
        if (typeof item === 'string' && !options.some((o) => o.label === item)) {
          options.push({ label: item, type: 'enum' });
        }
      }
    }
    if (options.length === 0) return null;
    return { from: context.pos - value[4].length, options, validFor: /^[A-Za-z0-9_-]*$/ };
  }

  const key = /^(\s*)(- )?([A-Za-z0-9_.-]*)$/.exec(before);
  if (!key || (key[3] === '' && !context.explicit && key[2] === undefined && before.trim() !== ''))
    return null;
  const isItem = key[2] !== undefined;
  const column = key[1].length + (isItem ? 2 : 0);
  const path = pathAt(lines, lines.length, column, isItem, key[1].length);
  const options: Completion[] = [];
  for (const { node } of schemaAt(path)) {
    for (const [name, child] of Object.entries(node.properties ?? {})) {
      if (options.some((o) => o.label === name)) continue;
      options.push({ label: name, type: 'property', info: describe(child), apply: `${name}: ` });
    }
  }
  if (options.length === 0) return null;
  return { from: context.pos - key[3].length, options, validFor: /^[A-Za-z0-9_.-]*$/ };
}
