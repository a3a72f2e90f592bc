import { context, propagation, trace } from '@opentelemetry/api';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { OTLPTraceExporter as ProtobufExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { envDetector, hostDetector } from '@opentelemetry/resources';
import { NodeSDK } from '@opentelemetry/sdk-node';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  type Sampler,
} from '@opentelemetry/sdk-trace-base';
import type { TracingConfig, TracingSampler } from '../config';

import type { Tracing } from './tracing';

/**
 * Starts OpenTelemetry's Node SDK (tracing is configured: an OTLP endpoint is set), before
 * anything traced runs. Loaded only then (see tracing.ts). Spans are made by hand through the API at each stage
 * (docs/operations.md#traces), not by auto-instrumentation: no instrumentation is registered, so
 * the HTTP transport the flow client uses does not matter. Not configured: nothing is started and
 * every span is the API's no-op. One per process: the SDK registers the API's globals.
 */
export function startOtelSdk(config: TracingConfig): Tracing {
  const exporter =
    config.protocol === 'http/json'
      ? new JsonExporter({ url: config.url })
      : new ProtobufExporter({ url: config.url });
  const sdk = new NodeSDK({
    serviceName: config.serviceName,
    sampler: samplerOf(config.sampler),
    spanProcessors: [
      new BatchSpanProcessor(
        exporter,
        config.scheduleDelayMs === undefined
          ? {}
          : { scheduledDelayMillis: config.scheduleDelayMs },
      ),
    ],
    // Traces only: no metrics (that is /metrics) and no log export (pino writes the logs).
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [],
    // Not the process detector: a command line is not something to send out.
    resourceDetectors: [envDetector, hostDetector],
  });
  sdk.start();
  return {
    async shutdown() {
      await sdk.shutdown().catch(() => undefined);
      // The API's globals go with it, so a later start in this process (tests) registers anew.
      trace.disable();
      context.disable();
      propagation.disable();
    },
  };
}

function samplerOf({ name, ratio }: TracingSampler): Sampler {
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}
