import { PLATFORM_KEY } from '../limits/flow-key';

/**
 * The `flow` label of a limits key (`org/flow`, each URL-encoded): the flow id, as the execute
 * metrics name it. The platform-wide budget (`*`) is no flow: undefined.
 */
export function flowLabel(key: string): string | undefined {
  if (key === PLATFORM_KEY) return undefined;
  const slash = key.lastIndexOf('/');
  try {
    return decodeURIComponent(key.slice(slash + 1));
  } catch {
    return key.slice(slash + 1);
  }
}
