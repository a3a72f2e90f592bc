import { useEffect, useState } from 'preact/hooks';
import {
  api,
  shortId,
  when,
  type Explanation,
  type Problem,
  type SourcesView,
  type Summary,
} from './api';
import { ExplanationView } from './explanation-view';
import { go, href } from './router';
import { useLoad } from './use-load';
import { YamlEditor } from './yaml-editor';

interface MappingFile {
  source: string;
  file: string;
  version: string;
  text: string;
  editable: boolean;
}

interface Evaluation {
  ok: boolean;
  problems: Problem[];
  unset?: string[];
  explanation: Explanation | null;
}

function headersOf(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon > 0)
      headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function PlaygroundPage(props: { params: URLSearchParams }) {
  const sources = useLoad(() => api<SourcesView>('GET', '/sources'), 'sources');
  const names = [
    ...(sources.data?.sources.map((s) => s.name) ?? []),
    ...(sources.data?.disabled.map((s) => s.name) ?? []),
  ];
  const source = props.params.get('source') ?? names[0] ?? '';
  const file = useLoad<MappingFile | null>(
    () =>
      source
        ? api<MappingFile>('GET', `/sources/${encodeURIComponent(source)}/mapping`)
        : Promise.resolve(null),
    source,
  );
  const recent = useLoad<{ items: Summary[] }>(
    () =>
      source
        ? api('GET', `/deliveries?source=${encodeURIComponent(source)}&limit=25`)
        : Promise.resolve({ items: [] }),
    `recent:${source}`,
  );

  const [draft, setDraft] = useState<string | null>(null);
  const [mode, setMode] = useState<'stored' | 'pasted'>('stored');
  const [deliveryId, setDeliveryId] = useState(props.params.get('delivery') ?? '');
  const [payload, setPayload] = useState('{\n  \n}');
  const [headers, setHeaders] = useState('content-type: application/json');
  const [result, setResult] = useState<Evaluation | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    setDraft(file.data?.text ?? null);
  }, [file.data]);
  useEffect(() => {
    if (!deliveryId && recent.data?.items[0]) setDeliveryId(recent.data.items[0].id);
  }, [recent.data]);

  const text = draft ?? file.data?.text;
  useEffect(() => {
    if (!source || text === undefined) return undefined;
    if (mode === 'stored' && !deliveryId) return undefined;
    const timer = setTimeout(() => {
      const request =
        mode === 'stored'
          ? { deliveryId }
          : { request: { body: payload, headers: headersOf(headers), query: {} } };
      api<Evaluation>('POST', '/playground/evaluate', { source, mapping: text, ...request }).then(
        (evaluation) => {
          setResult(evaluation);
          setFailure(null);
        },
        (error: Error) => setFailure(error.message),
      );
    }, 250);
    return () => clearTimeout(timer);
  }, [source, text, mode, deliveryId, payload, headers]);

  const replay = async () => {
    setBusy(true);
    setNotice(null);
    try {
      const outcome = await api<{ state: string; attempts: { number: number }[] }>(
        'POST',
        '/playground/replay',
        {
          source,
          mapping: text,
          deliveryId,
        },
      );
      setNotice(
        `Replayed delivery ${shortId(deliveryId)} with the draft: ${outcome.state} (attempt ${outcome.attempts
          .map((a) => a.number)
          .join(', ')}, marked as a draft).`,
      );
    } catch (error) {
      setNotice(`Replay refused: ${(error as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  const save = async () => {
    if (!file.data || text === undefined) return;
    setBusy(true);
    setNotice(null);
    try {
      const saved = await api<{
        file: string;
        version: string;
        backup: string | null;
        reload: string;
      }>('PUT', `/sources/${encodeURIComponent(source)}/mapping`, {
        text,
        baseVersion: file.data.version,
      });
      setNotice(
        `Saved ${saved.file} (version ${saved.version})${saved.backup ? `; the previous file is kept as ${saved.backup}` : ''}; ${saved.reload} applies it.`,
      );
      file.reload();
    } catch (error) {
      setNotice(`Not saved: ${(error as Error).message}`);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="playground-heading">
      <h1 id="playground-heading">Playground</h1>
      <p class="muted">
        Try a mapping on a real payload: nothing is saved or executed until you ask. The signature
        is not checked here.
      </p>
      <div class="playground">
        <div class="pane">
          <label>
            Source
            <select
              value={source}
              onChange={(e) => go('playground', { source: (e.target as HTMLSelectElement).value })}
            >
              {names.map((name) => (
                <option key={name} value={name}>
                  {name}
                </option>
              ))}
            </select>
          </label>
          <fieldset>
            <legend>Try it on</legend>
            <label class="inline">
              <input
                type="radio"
                name="mode"
                checked={mode === 'stored'}
                onChange={() => setMode('stored')}
              />
              a stored delivery
            </label>
            <label class="inline">
              <input
                type="radio"
                name="mode"
                checked={mode === 'pasted'}
                onChange={() => setMode('pasted')}
              />
              a pasted payload
            </label>
            {mode === 'stored' ? (
              <label>
                Stored delivery
                <select
                  value={deliveryId}
                  onChange={(e) => setDeliveryId((e.target as HTMLSelectElement).value)}
                >
                  {deliveryId && !recent.data?.items.some((d) => d.id === deliveryId) && (
                    <option value={deliveryId}>{shortId(deliveryId)}</option>
                  )}
                  {recent.data?.items.map((d) => (
                    <option key={d.id} value={d.id}>
                      {shortId(d.id)} · {when(d.receivedAt)} · {d.state}
                    </option>
                  ))}
                </select>
              </label>
            ) : (
              <>
                <label>
                  Payload
                  <textarea
                    rows={8}
                    value={payload}
                    onInput={(e) => setPayload((e.target as HTMLTextAreaElement).value)}
                  />
                </label>
                <label>
                  Headers (one per line, Name: value)
                  <textarea
                    rows={3}
                    value={headers}
                    onInput={(e) => setHeaders((e.target as HTMLTextAreaElement).value)}
                  />
                </label>
              </>
            )}
          </fieldset>
          {file.error && (
            <p role="alert" class="error">
              {file.error}
            </p>
          )}
          {file.data && (
            <>
              <p id="mapping-label">
                Mapping (YAML) — <code>{file.data.file}</code>{' '}
                <span class="muted">v{file.data.version}</span>
              </p>
              <YamlEditor
                key={`${file.data.source}:${file.data.version}`}
                value={file.data.text}
                label="Mapping (YAML)"
                problems={result?.problems ?? []}
                onChange={setDraft}
              />
            </>
          )}
          <div class="actions">
            <button
              type="button"
              onClick={replay}
              disabled={
                busy || mode !== 'stored' || !deliveryId || !result || result.problems.length > 0
              }
            >
              Replay with this draft
            </button>
            <button
              type="button"
              onClick={save}
              disabled={busy || !file.data?.editable || !result || result.problems.length > 0}
            >
              Save mapping
            </button>
            {file.data && !file.data.editable && (
              <span class="muted">Saving needs CONSOLE_EDIT=on.</span>
            )}
          </div>
          {notice && (
            <p role="status" class="notice">
              {notice}{' '}
              {mode === 'stored' && deliveryId && (
                <a href={href(`deliveries/${deliveryId}`)}>Open the delivery</a>
              )}
            </p>
          )}
        </div>
        <div class="pane" aria-live="polite">
          <h2>Result</h2>
          {failure && (
            <p role="alert" class="error">
              {failure}
            </p>
          )}
          {result && result.problems.length > 0 && (
            <section aria-label="Problems">
              <p class="error">The draft does not load:</p>
              <ul class="error">
                {result.problems.map((p) => (
                  <li key={p.message}>
                    {p.line !== null ? `line ${p.line}, column ${p.column ?? 1}: ` : ''}
                    {p.message.replace(/^line \d+, column \d+: /, '')}
                  </li>
                ))}
              </ul>
            </section>
          )}
          {result?.explanation && (
            <>
              <p class={result.ok ? 'verdict ok' : 'verdict'}>
                {result.explanation.matched.length > 0
                  ? `Would run: ${result.explanation.matched.join(', ')}`
                  : 'No route would run'}
              </p>
              {result.unset && result.unset.length > 0 && (
                <p class="muted">Unset variables, shown by name: {result.unset.join(', ')}</p>
              )}
              <ExplanationView explanation={result.explanation} label="Draft result" />
            </>
          )}
        </div>
      </div>
    </section>
  );
}
