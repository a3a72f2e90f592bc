/**
 * The size of `value` written as JSON (JSON.stringify, UTF-8), in bytes, counted up to `limit`:
 * a result over `limit` means "larger", not the exact size. It stops as soon as the count passes
 * the limit, so finding out that a 50 MB body is too large costs about `limit` bytes of work, not
 * 50 MB of serialization (issue 9, item 3). Values JSON drops (undefined, functions) count as
 * JSON.stringify writes them.
 */
export function jsonSizeUpTo(value: unknown, limit: number): number {
  let size = 0;
  // An explicit stack: a deep value must not overflow the call stack.
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const node = stack.pop();
    if (node === null || typeof node !== 'object') {
      size += primitiveSize(node);
    } else if (Array.isArray(node)) {
      size += 2 + Math.max(0, node.length - 1); // [ ] and commas
      for (let i = node.length - 1; i >= 0; i -= 1) {
        const item: unknown = node[i];
        // JSON.stringify writes null for an array slot it cannot write.
        stack.push(item === undefined || typeof item === 'function' ? null : item);
      }
    } else {
      const entries = Object.entries(node).filter(
        ([, item]) => item !== undefined && typeof item !== 'function',
      );
      size += 2 + Math.max(0, entries.length - 1); // { } and commas
      for (const [key, item] of entries) {
        size += primitiveSize(key) + 1; // "key":
        stack.push(item);
        if (size > limit) return size;
      }
    }
    if (size > limit) return size;
  }
  return size;
}

function primitiveSize(value: unknown): number {
  if (typeof value === 'bigint') return String(value).length;
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? 4 : Buffer.byteLength(text);
}
