import { useEffect, useRef, useState } from 'preact/hooks';
import { api, shortId, STATES, when, type Job, type SourcesView, type Summary } from './api';
import { go, href } from './router';
import { useLoad } from './use-load';

const FILTERS = ['source', 'status', 'route', 'since', 'limit'] as const;
type Filters = Partial<Record<(typeof FILTERS)[number], string>>;

function filtersOf(params: URLSearchParams): Filters {
  const filters: Filters = {};
  for (const name of FILTERS) {
    const value = params.get(name);
    if (value) filters[name] = value;
  }
  return filters;
}

/** datetime-local is the browser's local time; the API takes ISO 8601 with an offset. */
const toIso = (local: string | undefined) => (local ? new Date(local).toISOString() : undefined);

function query(filters: Filters, cursor?: string): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(filters)) {
    if (!value) continue;
    params.set(name, name === 'since' ? (toIso(value) as string) : value);
  }
  // 50 a page unless the address says otherwise (#/deliveries?limit=10).
  if (!params.has('limit')) params.set('limit', '50');
  if (cursor) params.set('cursor', cursor);
  return `?${params.toString()}`;
}

/** Whether a live row belongs in the list as filtered (the filters the stream row can show). */
function matches(row: Summary, filters: Filters): boolean {
  if (filters.source && row.source !== filters.source) return false;
  if (filters.status && row.state !== filters.status) return false;
  if (filters.route && !row.routes.some((r) => r.route === filters.route)) return false;
  return true;
}

export function DeliveriesPage(props: { params: URLSearchParams }) {
  const filters = filtersOf(props.params);
  const key = JSON.stringify(filters);
  const [rows, setRows] = useState<Summary[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);
  const [live, setLive] = useState<'connecting' | 'live' | 'reconnecting'>('connecting');
  const sources = useLoad(() => api<SourcesView>('GET', '/sources'), 'sources');
  const filtersRef = useRef(filters);
  filtersRef.current = filters;

  useEffect(() => {
    let current = true;
    setLoading(true);
    api<{ items: Summary[]; nextCursor: string | null }>(
      'GET',
      `/deliveries${query(filters)}`,
    ).then(
      (page) => {
        if (!current) return;
        setRows(page.items);
        setCursor(page.nextCursor);
        setError(null);
        setLoading(false);
      },
      (failure: Error) => {
        if (!current) return;
        setError(failure.message);
        setLoading(false);
      },
    );
    return () => {
      current = false;
    };
  }, [key]);

  useEffect(() => {
    const stream = new EventSource('/api/deliveries/stream');
    stream.onopen = () => setLive('live');
    stream.onerror = () => setLive('reconnecting');
    stream.addEventListener('delivery', (event) => {
      const row = JSON.parse((event as MessageEvent<string>).data) as Summary;
      setRows((list) => {
        const at = list.findIndex((r) => r.id === row.id);
        if (at >= 0) return list.map((r) => (r.id === row.id ? row : r));
        return matches(row, filtersRef.current) ? [row, ...list] : list;
      });
    });
    return () => stream.close();
  }, []);

  const more = async () => {
    if (!cursor) return;
    const page = await api<{ items: Summary[]; nextCursor: string | null }>(
      'GET',
      `/deliveries${query(filters, cursor)}`,
    );
    setRows((list) => [...list, ...page.items.filter((r) => !list.some((x) => x.id === r.id))]);
    setCursor(page.nextCursor);
  };

  const apply = (event: Event) => {
    event.preventDefault();
    const data = new FormData(event.target as HTMLFormElement);
    const next: Record<string, string> = {};
    for (const name of FILTERS) next[name] = String(data.get(name) ?? filters[name] ?? '').trim();
    go('deliveries', next);
  };

  const sourceNames = [
    ...(sources.data?.sources.map((s) => s.name) ?? []),
    ...(sources.data?.disabled.map((s) => s.name) ?? []),
  ];

  return (
    <section aria-labelledby="deliveries-heading">
      <h1 id="deliveries-heading">Deliveries</h1>
      <form class="filters" onSubmit={apply} aria-label="Filter deliveries" key={key}>
        <label>
          Source
          <select name="source" defaultValue={filters.source ?? ''}>
            <option value="">any</option>
            {sourceNames.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          State
          <select name="status" defaultValue={filters.status ?? ''}>
            <option value="">any</option>
            {STATES.map((state) => (
              <option key={state} value={state}>
                {state}
              </option>
            ))}
          </select>
        </label>
        <label>
          Route
          <input name="route" defaultValue={filters.route ?? ''} size={12} />
        </label>
        <label>
          From
          <input type="datetime-local" name="since" defaultValue={filters.since ?? ''} />
        </label>
        <button type="submit">Apply filters</button>
        <a href={href('deliveries')} class="button quiet">
          Clear
        </a>
      </form>
      <BulkReplay filters={filters} />
      <p class="muted" role="status">
        {live === 'live'
          ? 'Live: new deliveries appear as they arrive.'
          : live === 'connecting'
            ? 'Connecting…'
            : 'Reconnecting…'}
      </p>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {loading ? <p class="loading">Loading deliveries…</p> : <DeliveryTable rows={rows} />}
      {cursor && (
        <button type="button" onClick={more}>
          Load more
        </button>
      )}
    </section>
  );
}

function DeliveryTable(props: { rows: Summary[] }) {
  if (props.rows.length === 0) return <p>No delivery matches.</p>;
  return (
    <table aria-label="Deliveries">
      <thead>
        <tr>
          <th scope="col">Received</th>
          <th scope="col">Delivery</th>
          <th scope="col">Provider id</th>
          <th scope="col">Source</th>
          <th scope="col">State</th>
          <th scope="col">Routes → flows</th>
          <th scope="col">Attempts</th>
          <th scope="col">Last error</th>
        </tr>
      </thead>
      <tbody>
        {props.rows.map((row) => (
          <tr key={row.id}>
            <td>{when(row.receivedAt)}</td>
            <td>
              <a
                href={href(`deliveries/${row.id}`)}
                aria-label={`Delivery ${row.id}`}
                title={row.id}
              >
                <code>{shortId(row.id)}</code>
              </a>
            </td>
            <td>
              <code>{row.idempotencyKey ?? '—'}</code>
            </td>
            <td>{row.source}</td>
            <td>
              <span class={`state state-${row.state}`}>{row.state}</span>
              {row.dryRun && <span class="badge">dry run</span>}
            </td>
            <td>{row.routes.map((r) => `${r.route} → ${r.flowId}`).join(', ') || '—'}</td>
            <td>{row.attempts}</td>
            <td class="error-cell">
              {row.lastError ? `${row.lastError.code}: ${row.lastError.message}` : ''}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function BulkReplay(props: { filters: Filters }) {
  const [job, setJob] = useState<Job | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (!job || job.state === 'finished' || job.state === 'cancelled') return undefined;
    const timer = setTimeout(() => {
      api<Job>('GET', `/replays/${job.id}`).then(setJob, (failure: Error) =>
        setError(failure.message),
      );
    }, 400);
    return () => clearTimeout(timer);
  }, [job]);

  const start = async () => {
    setError(null);
    const body: Record<string, string> = {};
    for (const [name, value] of Object.entries(props.filters)) {
      if (value && name !== 'limit')
        body[name] = name === 'since' ? (toIso(value) as string) : value;
    }
    try {
      setJob(await api<Job>('POST', '/replays', body));
    } catch (failure) {
      setError((failure as Error).message);
    }
  };
  const cancel = async () => {
    if (job) setJob(await api<Job>('POST', `/replays/${job.id}/cancel`));
  };
  const running = job !== null && (job.state === 'collecting' || job.state === 'running');
  return (
    <div class="bulk">
      <button type="button" onClick={start} disabled={running}>
        Replay all matching
      </button>
      {running && (
        <button type="button" onClick={cancel}>
          Cancel replay
        </button>
      )}
      {job && (
        <div role="status" aria-label="Bulk replay progress" class="progress">
          <progress max={Math.max(job.total, 1)} value={job.done} aria-label="Replayed" />
          <span>
            {job.state === 'collecting'
              ? 'Collecting the matching deliveries…'
              : `Bulk replay ${job.state}: ${job.done} of ${job.total} done — ${job.succeeded} succeeded, ${job.failed} failed, ${job.queued} queued, ${job.dead} dead, ${job.skipped} skipped (running), ${job.refused} refused`}
          </span>
          {job.problems.length > 0 && (
            <ul class="error">
              {job.problems.map((p) => (
                <li key={p.deliveryId + p.code}>
                  {p.deliveryId ? shortId(p.deliveryId) : 'job'}: {p.code}: {p.message}
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
    </div>
  );
}
