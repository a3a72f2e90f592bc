/**
 * Text that LIKE … ESCAPE '\' matches literally: its wildcards and the escape character escaped
 * (a search box is literal text, never a pattern). Both stores' list queries use it.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, '\\$&');
}
