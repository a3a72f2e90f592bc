import type { TracingConfig } from '../config';

export interface Tracing {
  /** Sends the spans still waiting, then stops the SDK (server stop). Never rejects. */
  shutdown(): Promise<void>;
}

const OFF: Tracing = { shutdown: async () => undefined };

/**
 * Tracing on when configured (config.tracing: an OTLP endpoint is set), else off: nothing is
 * started and every span is the API's no-op. The SDK and its exporters are loaded only when
 * tracing is on: loading them costs about 20 MB of memory and a tenth of a second at start,
 * which a process that does not trace should not pay.
 */
export function startTracing(config: TracingConfig | undefined): Tracing {
  if (config === undefined) return OFF;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const sdk = require('./start-otel-sdk') as typeof import('./start-otel-sdk');
  return sdk.startOtelSdk(config);
}
