import { useState } from 'preact/hooks';
import { api, when, type SourcesView } from './api';
import { FlowState, flowKey, type FlowLimitsView } from './flow-state';
import { PauseButton } from './pause-button';
import { href } from './router';
import { useLoad } from './use-load';

interface Activity {
  items: {
    source: string;
    lastDelivery: { id: string; receivedAt: string; state: string } | null;
    lastHour: number;
    lastHourCapped: boolean;
  }[];
}

const where = (p: { file: string; line: number | null; column: number | null }) =>
  p.line === null ? p.file : `${p.file}:${p.line}:${p.column ?? 1}`;

export function SourcesPage() {
  const { data, error, reload } = useLoad(
    () =>
      Promise.all([
        api<SourcesView>('GET', '/sources'),
        api<Activity>('GET', '/sources/activity'),
        // Without limits (an app embedded without a limiter) there is no pause to show.
        api<{ flows: FlowLimitsView[] }>('GET', '/limits').catch(() => ({ flows: [] })),
      ]),
    'sources',
  );
  const [notice, setNotice] = useState<string | null>(null);
  const changed = (message: string) => {
    setNotice(message);
    reload();
  };
  if (error)
    return (
      <p role="alert" class="error">
        {error}
      </p>
    );
  if (!data) return <p class="loading">Loading sources…</p>;
  const [view, activity, limits] = data;
  const activityOf = (name: string) => activity.items.find((a) => a.source === name);
  const flowOf = (orgId: string | null, flowId: string) =>
    orgId === null ? undefined : limits.flows.find((f) => f.flow === flowKey(orgId, flowId));
  return (
    <section aria-labelledby="sources-heading">
      <h1 id="sources-heading">Sources</h1>
      {notice && (
        <p role="status" class="notice">
          {notice}
        </p>
      )}
      <table>
        <caption>Every loaded source, with its routes and what it received lately</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col">Verification</th>
            <th scope="col">Mode</th>
            <th scope="col">Routes → flows</th>
            <th scope="col">File</th>
            <th scope="col">State</th>
            <th scope="col">Last delivery</th>
            <th scope="col">Last hour</th>
          </tr>
        </thead>
        <tbody>
          {view.sources.map((source) => {
            const recent = activityOf(source.name);
            return (
              <tr key={source.name}>
                <th scope="row">
                  <a href={href('deliveries', { source: source.name })}>{source.name}</a>
                </th>
                <td>{source.provider}</td>
                <td>
                  {source.mode}, dispatch {source.dispatch}
                </td>
                <td>
                  <ul class="plain">
                    {source.routes.map((r) => (
                      <li key={r.name}>
                        {r.name} → <code>{r.flowId}</code>
                        {r.orgId ? <span class="muted"> (org {r.orgId})</span> : null}{' '}
                        <FlowState state={flowOf(r.orgId, r.flowId)} />
                        {r.orgId !== null && (
                          <PauseButton
                            target={{
                              kind: 'flow',
                              label: r.flowId,
                              path: `/flows/${encodeURIComponent(r.flowId)}?org=${encodeURIComponent(r.orgId)}`,
                              paused: flowOf(r.orgId, r.flowId)?.paused ?? false,
                            }}
                            onChanged={changed}
                          />
                        )}
                      </li>
                    ))}
                  </ul>
                </td>
                <td>
                  <code>{source.file}</code> <span class="muted">v{source.version}</span>
                </td>
                <td>
                  {source.paused ? (
                    <span class="state state-queued">paused</span>
                  ) : (
                    <span class="state state-succeeded">serving</span>
                  )}{' '}
                  <PauseButton
                    target={{
                      kind: 'source',
                      label: source.name,
                      path: `/sources/${encodeURIComponent(source.name)}`,
                      paused: source.paused,
                    }}
                    onChanged={changed}
                  />
                  {view.errors
                    .filter((e) => e.file === source.file)
                    .map((e) => (
                      <p class="error" key={e.message}>
                        {where(e)}: {e.message}
                      </p>
                    ))}
                </td>
                <td>
                  {recent?.lastDelivery ? (
                    <a href={href(`deliveries/${recent.lastDelivery.id}`)}>
                      {when(recent.lastDelivery.receivedAt)} ({recent.lastDelivery.state})
                    </a>
                  ) : (
                    'none yet'
                  )}
                </td>
                <td>{recent ? `${recent.lastHour}${recent.lastHourCapped ? '+' : ''}` : '—'}</td>
              </tr>
            );
          })}
          {view.disabled.map((source) => (
            <tr key={source.name}>
              <th scope="row">{source.name}</th>
              <td colSpan={3} class="muted">
                not serving
              </td>
              <td>
                <code>{source.files.join(', ')}</code>
              </td>
              <td colSpan={3}>
                <span class="state state-failed">disabled</span> {source.reason}
                {view.errors
                  .filter((e) => source.files.includes(e.file))
                  .map((e) => (
                    <p class="error" key={e.message}>
                      {where(e)}: {e.message}
                    </p>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {view.errors.length > 0 && (
        <section aria-labelledby="errors-heading">
          <h2 id="errors-heading">Load errors</h2>
          <ul>
            {view.errors.map((e) => (
              <li key={`${e.file}${e.message}`}>
                <code>{where(e)}</code>: {e.message}
              </li>
            ))}
          </ul>
        </section>
      )}
      {view.warnings.length > 0 && (
        <section aria-labelledby="warnings-heading">
          <h2 id="warnings-heading">Warnings</h2>
          <ul>
            {view.warnings.map((w) => (
              <li key={`${w.file}${w.message}`}>
                <code>{where(w)}</code>: {w.message}
              </li>
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}
