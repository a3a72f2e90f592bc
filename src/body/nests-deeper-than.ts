/**
 * Whether a JSON text nests [ and { deeper than `max`, skipping strings. Run before JSON.parse so
 * a 1 MiB "[[[[…" never reaches the recursive code that later walks the body.
 */
export function nestsDeeperThan(text: string, max: number): boolean {
  // Depth cannot exceed the number of openers. Counting them is a native search that settles
  // ordinary payloads (a few dozen objects) without the character scan below.
  if (countOpeners(text, max) <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (inString) {
      if (code === 0x5c)
        i++; // backslash: skip the escaped character
      else if (code === 0x22) inString = false;
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x7b || code === 0x5b) {
      depth++;
      if (depth > max) return true;
    } else if (code === 0x7d || code === 0x5d) {
      depth--;
    }
  }
  return false;
}

/** How many { and [ the text holds; stops counting once past `limit`. */
function countOpeners(text: string, limit: number): number {
  let count = 0;
  for (const opener of ['{', '[']) {
    let i = text.indexOf(opener);
    while (i !== -1 && count <= limit) {
      count++;
      i = text.indexOf(opener, i + 1);
    }
  }
  return count;
}
