import type {
  DeliveryPatch,
  DeliveryStore,
  NewDelivery,
  StoredAnswer,
  StoredRequest,
  UpdateOptions,
} from '../deliveries/types';
import { REDACTED, type SecretRedactor } from './create-secret-redactor';

/**
 * The store as the HTTP side sees it: every record written through it has every configured
 * secret (of any source) and the flow token redacted by value, in the forms the redactor knows,
 * from the stored request's headers and URL, the answer, the last error and the attempts' errors
 * (issue 9, item 6). Redaction by name happens before (toStoredRequest); this is the net for a
 * secret sent under an innocent name, or echoed back by an upstream. Reads and everything else
 * go to the store unchanged, whatever the implementation.
 */
export function redactingStore(store: DeliveryStore, secrets: () => SecretRedactor): DeliveryStore {
  const create: DeliveryStore['create'] = (delivery: NewDelivery, windowMs: number) => {
    const redactor = secrets();
    return store.create(
      {
        ...delivery,
        request: redactRequest(delivery.request, redactor),
        ...(delivery.answer ? { answer: redactAnswer(delivery.answer, redactor) } : {}),
        ...(delivery.lastError ? { lastError: redactError(delivery.lastError, redactor) } : {}),
      },
      windowMs,
    );
  };
  const update = ((id: string, patch: DeliveryPatch, options?: UpdateOptions) => {
    const redactor = secrets();
    const safe: DeliveryPatch = {
      ...patch,
      ...(patch.answer ? { answer: redactAnswer(patch.answer, redactor) } : {}),
      ...(patch.lastError ? { lastError: redactError(patch.lastError, redactor) } : {}),
    };
    const attempts = options?.attempts?.map((attempt) =>
      attempt.error ? { ...attempt, error: redactError(attempt.error, redactor) } : attempt,
    );
    return store.update(id, safe, options && { ...options, ...(attempts ? { attempts } : {}) });
  }) as DeliveryStore['update'];
  return new Proxy(store, {
    get(target, property) {
      if (property === 'create') return create;
      if (property === 'update') return update;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function'
        ? (value as (...a: unknown[]) => unknown).bind(target)
        : value;
    },
  });
}

function redactRequest(request: StoredRequest, redactor: SecretRedactor): StoredRequest {
  const url = redactor.text(request.url);
  // The common case in one search: no header name or value holds a secret (json() gives back
  // the same object only then; a value that holds one is replaced whole below).
  if (url === request.url && redactor.json(request.headers) === request.headers) return request;
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    headers[name] = redactor.holds(value) ? REDACTED : value;
  }
  return { ...request, headers, url };
}

function redactAnswer(answer: StoredAnswer, redactor: SecretRedactor): StoredAnswer {
  return {
    ...answer,
    body: redactor.json(answer.body),
    ...(answer.headers ? { headers: redactor.json(answer.headers) } : {}),
  };
}

function redactError<E extends { readonly message: string }>(
  error: E,
  redactor: SecretRedactor,
): E {
  return { ...error, message: redactor.text(error.message) };
}
