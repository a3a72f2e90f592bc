import { useState } from 'preact/hooks';
import { api, when, type Detail, type Explanation } from './api';
import { ExplanationView } from './explanation-view';
import { href } from './router';
import { useLoad } from './use-load';

function prettyBody(detail: Detail): string {
  const text = detail.request.bodyText;
  if (text === undefined)
    return `(${detail.request.bodyBytes} bytes, not UTF-8; base64:)\n${detail.request.bodyBase64}`;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

function queryOf(url: string): [string, string][] {
  const at = url.indexOf('?');
  return at < 0 ? [] : [...new URLSearchParams(url.slice(at + 1))];
}

export function DeliveryPage(props: { id: string }) {
  const { data, error, reload } = useLoad(
    () => api<Detail>('GET', `/deliveries/${props.id}`),
    props.id,
  );
  const [status, setStatus] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const current = useLoad<{ explanation: Explanation | null } | null>(
    () =>
      data && !data.explanation
        ? api('POST', '/playground/evaluate', { source: data.source, deliveryId: data.id })
        : Promise.resolve(null),
    `${props.id}:${data ? 'loaded' : 'waiting'}`,
  );

  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!data) return <p class="loading">Loading the delivery…</p>;

  const replay = async () => {
    setBusy(true);
    setStatus(null);
    try {
      const result = await api<{ state: string; attempts: { number: number }[] }>(
        'POST',
        `/deliveries/${data.id}/replay`,
      );
      setStatus(
        `Replayed through the current mappings: ${result.state} (attempt ${result.attempts.map((a) => a.number).join(', ')}).`,
      );
    } catch (failure) {
      setStatus(`Replay refused: ${(failure as Error).message}`);
    } finally {
      setBusy(false);
      reload();
    }
  };

  const query = queryOf(data.request.url);
  const waiting = ['failed', 'dead', 'queued'].includes(data.state);
  return (
    <article aria-labelledby="delivery-heading">
      <h1 id="delivery-heading">
        Delivery <code>{data.id}</code>
      </h1>
      <dl class="facts">
        <dt>Source</dt>
        <dd>{data.source}</dd>
        <dt>State</dt>
        <dd>
          <span class={`state state-${data.state}`}>{data.state}</span>
          {data.dryRun && <span class="badge">dry run</span>}
        </dd>
        <dt>Received</dt>
        <dd>{when(data.receivedAt)}</dd>
        <dt>Provider delivery id</dt>
        <dd>
          <code>{data.idempotencyKey ?? '—'}</code>
        </dd>
        <dt>Mode</dt>
        <dd>{data.mode}</dd>
        <dt>Mapping version</dt>
        <dd>
          <code>{data.mappingVersion}</code>
        </dd>
        {waiting && (
          <>
            <dt>Next retry</dt>
            <dd>{data.nextAttemptAt ? when(data.nextAttemptAt) : 'none scheduled (replay it)'}</dd>
          </>
        )}
        {data.answer && (
          <>
            <dt>Answered</dt>
            <dd>{data.answer.status}</dd>
          </>
        )}
      </dl>
      <div class="actions">
        <button type="button" onClick={replay} disabled={busy || data.state === 'running'}>
          Replay
        </button>
        <a
          class="button quiet"
          href={href('playground', { source: data.source, delivery: data.id })}
        >
          Open in playground
        </a>
      </div>
      {status && (
        <p role="status" class="notice">
          {status}
        </p>
      )}

      <section aria-labelledby="request-heading">
        <h2 id="request-heading">Request</h2>
        <p>
          <code>
            {data.request.method} {data.request.url}
          </code>{' '}
          <span class="muted">
            {data.request.bodyBytes} bytes{data.request.bodyTruncated ? ', stored truncated' : ''}
          </span>
        </p>
        <table aria-label="Request headers" class="compact">
          <tbody>
            {Object.entries(data.request.headers).map(([name, value]) => (
              <tr key={name}>
                <th scope="row">{name}</th>
                <td>
                  <code>{value}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {query.length > 0 && (
          <table aria-label="Query" class="compact">
            <tbody>
              {query.map(([name, value]) => (
                <tr key={name}>
                  <th scope="row">{name}</th>
                  <td>
                    <code>{value}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <details open>
          <summary>Body</summary>
          <pre aria-label="Request body">{prettyBody(data)}</pre>
        </details>
      </section>

      <section aria-labelledby="routing-heading">
        <h2 id="routing-heading">Routing explanation</h2>
        {data.explanation ? (
          <>
            <p class="muted">As computed when it was received, with the mapping then in force.</p>
            <ExplanationView explanation={data.explanation} label="Routing explanation" />
          </>
        ) : current.data?.explanation ? (
          <>
            <p class="muted">
              Not stored with this delivery (received before explanations were kept): computed now
              with the current mapping.
            </p>
            <ExplanationView explanation={current.data.explanation} label="Routing explanation" />
          </>
        ) : (
          <p class="muted">{current.error ?? 'Computing…'}</p>
        )}
      </section>

      <section aria-labelledby="variables-heading">
        <h2 id="variables-heading">Variables sent</h2>
        {data.routes.length === 0 ? (
          <p>No route ran.</p>
        ) : (
          data.routes.map((r) => (
            <div key={r.route}>
              <h3>
                Route {r.route} → flow {r.flowId} <span class="muted">(org {r.orgId})</span>
              </h3>
              <pre aria-label={`Variables of route ${r.route}`}>
                {JSON.stringify(r.variables, null, 2)}
              </pre>
            </div>
          ))
        )}
      </section>

      <section aria-labelledby="attempts-heading">
        <h2 id="attempts-heading">Attempts</h2>
        {data.attempts.length === 0 ? (
          <p>No attempt yet.</p>
        ) : (
          <ol class="timeline" aria-label="Attempts">
            {data.attempts.map((a) => (
              <li key={a.number} class={`attempt attempt-${a.outcome}`}>
                <strong>
                  Attempt {a.number}: {a.outcome}
                </strong>
                {a.draft && <span class="badge">draft mapping</span>} — {when(a.startedAt)}, route{' '}
                {a.route} → flow {a.flowId},{' '}
                {a.httpStatus === null ? 'no HTTP status' : `HTTP ${a.httpStatus}`}, {a.durationMs}{' '}
                ms
                {a.sessionId && (
                  <>
                    , session <code>{a.sessionId}</code>
                  </>
                )}
                {a.error && (
                  <p class="error">
                    {a.error.code}: {a.error.message}
                  </p>
                )}
              </li>
            ))}
          </ol>
        )}
      </section>
    </article>
  );
}
