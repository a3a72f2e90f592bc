import type { HeaderMap } from '../verify/types';

/** What conditions and variables read: the parsed body, lower-case headers, the query. */
export interface RequestView {
  readonly body: unknown;
  readonly headers: HeaderMap;
  readonly query: Readonly<Record<string, string | undefined>>;
}
