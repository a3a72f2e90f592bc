import { SpanKind } from '@opentelemetry/api';
import type { DeliveryStore } from '../deliveries/types';
import type { Metrics } from './metrics';
import { failed, inTrace, tracer } from './trace-context';

/** The store's writes, each timed (flowhook_store_write_duration_seconds{op}) and traced. */
const WRITES = ['create', 'update', 'claimDue', 'claim', 'renewLease', 'prune'] as const;

const INSTRUMENTED = Symbol('flowhook.instrumentedStore');

/**
 * The delivery store with every write timed until it is durable, and, inside a traced delivery,
 * a span of its own (a worker's idle polls make none). Reads go through unchanged. Wrapping a
 * store that is already wrapped for the same metrics returns it as it is, so the server and the
 * app may both ask for it without counting a write twice.
 */
export function instrumentedStore(store: DeliveryStore, metrics: Metrics): DeliveryStore {
  if ((store as { [INSTRUMENTED]?: Metrics })[INSTRUMENTED] === metrics) return store;
  const timed = new Map<PropertyKey, unknown>();
  for (const op of WRITES) {
    timed.set(op, (...args: unknown[]) => {
      // Looked up at each call, like the redacting store: whatever the store's method is now.
      const write = store[op] as (...a: unknown[]) => Promise<unknown>;
      const started = performance.now();
      const span = inTrace()
        ? tracer().startSpan(`store.${op}`, {
            kind: SpanKind.CLIENT,
            attributes: { 'flowhook.store.op': op },
          })
        : undefined;
      const done = () => {
        metrics.storeWrite(op, (performance.now() - started) / 1000);
        span?.end();
      };
      return write.apply(store, args).then(
        (result) => {
          done();
          return result;
        },
        (error: unknown) => {
          if (span) failed(span, error);
          done();
          throw error;
        },
      );
    });
  }
  return new Proxy(store, {
    get(target, property) {
      if (property === INSTRUMENTED) return metrics;
      if (timed.has(property)) return timed.get(property);
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}
