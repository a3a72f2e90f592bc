import {
  ROOT_CONTEXT,
  SpanStatusCode,
  context,
  isSpanContextValid,
  trace,
  type Attributes,
  type Context,
  type Span,
  type SpanOptions,
  type Tracer,
} from '@opentelemetry/api';

/**
 * flowhook's spans come from the OpenTelemetry API only: with no SDK started (no exporter
 * endpoint), the API hands out no-op spans and the cost is a few object allocations. Asked for
 * on each use, not kept: the SDK may be started (or stopped) after a module is loaded.
 */
export function tracer(): Tracer {
  return trace.getTracer('flowhook');
}

const TRACEPARENT = /^00-([\da-f]{32})-([\da-f]{16})-([\da-f]{2})$/;

/**
 * The context whose parent is this W3C traceparent (a sender's, or one stored with a delivery);
 * the root context when there is none or it is not valid. Parsed here rather than by the global
 * propagator, which is a no-op while tracing is off: the sender's trace is still passed on then.
 */
export function contextOf(traceparent: string | null | undefined): Context {
  const match = traceparent ? TRACEPARENT.exec(traceparent) : null;
  if (match === null) return ROOT_CONTEXT;
  const spanContext = {
    traceId: match[1],
    spanId: match[2],
    traceFlags: parseInt(match[3], 16) & 1,
    isRemote: true,
  };
  return isSpanContextValid(spanContext)
    ? trace.setSpanContext(ROOT_CONTEXT, spanContext)
    : ROOT_CONTEXT;
}

/**
 * The traceparent naming `span` as the parent: what an execute call sends and a delivery stores.
 * With tracing off a span started under a sender's traceparent carries that traceparent, so it is
 * passed on unchanged; with neither, undefined.
 */
export function traceparentOf(span: Span): string | undefined {
  const { traceId, spanId, traceFlags } = span.spanContext();
  if (!isSpanContextValid(span.spanContext())) return undefined;
  return `00-${traceId}-${spanId}-${(traceFlags & 1).toString(16).padStart(2, '0')}`;
}

/** The traceparent of the span running now; undefined outside one (or with tracing off). */
export function currentTraceparent(): string | undefined {
  const span = trace.getSpan(context.active());
  return span === undefined ? undefined : traceparentOf(span);
}

/** True when a traced delivery is in progress here (store writes are spans only then). */
export function inTrace(): boolean {
  return trace.getSpan(context.active())?.isRecording() ?? false;
}

/**
 * Runs a synchronous stage (verify, parse, match) in a span of its own under the active one; a
 * throw marks the span as an error and goes on.
 */
export function stage<T>(name: string, attributes: Attributes, work: (span: Span) => T): T {
  const span = tracer().startSpan(name, { attributes });
  try {
    return work(span);
  } catch (error) {
    failed(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** Runs `work` as the active span `name` under `parent`, and ends it when the promise settles. */
export async function activeSpan<T>(
  name: string,
  options: SpanOptions,
  parent: Context,
  work: (span: Span) => Promise<T>,
): Promise<T> {
  return tracer().startActiveSpan(name, options, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      failed(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** An error status with the error's code (a FlowhookError's) or class: never its message. */
export function failed(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  const code = (error as { code?: unknown } | null)?.code;
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: typeof code === 'string' ? code : ((error as Error | null)?.name ?? 'error'),
  });
}
