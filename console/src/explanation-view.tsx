import type { ConditionTrace, Explanation } from './api';

function found(trace: ConditionTrace): string {
  if (!trace.found || trace.found.length === 0) return 'nothing';
  return trace.found.map((v) => JSON.stringify(v)).join(', ');
}

function Condition(props: { trace: ConditionTrace }) {
  const { trace } = props;
  const verdict = trace.held ? 'holds' : 'does not hold';
  return (
    <li class={trace.held ? 'held' : 'not-held'}>
      <span aria-hidden="true" class="mark">
        {trace.held ? '✓' : '✗'}
      </span>{' '}
      <code>{trace.condition}</code> <span class="sr-only">{verdict}</span>
      {trace.children ? (
        <ul class="conditions">
          {trace.children.map((child, i) => (
            <Condition key={i} trace={child} />
          ))}
        </ul>
      ) : (
        <span class="found">
          {' '}
          found: <code>{found(trace)}</code>
        </span>
      )}
    </li>
  );
}

/** Route by route, condition by condition, as `flowhook test` prints it; then the requests. */
export function ExplanationView(props: { explanation: Explanation; label: string }) {
  const e = props.explanation;
  return (
    <section aria-label={props.label} class="explanation">
      <p>
        Source <strong>{e.source}</strong> (<code>{e.file}</code>), dispatch {e.dispatch}
        {e.mappingVersion ? (
          <>
            , mapping version <code>{e.mappingVersion}</code>
          </>
        ) : null}
        .
      </p>
      {e.verification && (
        <p>
          Verification ({e.verification.provider}): {e.verification.result}
          {typeof e.verification.secretIndex === 'number'
            ? ` with secret #${e.verification.secretIndex + 1} of the rotation`
            : ''}
        </p>
      )}
      <ol class="routes">
        {e.routes.map((route) => {
          const ran = e.matched.includes(route.name);
          const verdict = route.held
            ? ran
              ? 'matched'
              : 'holds, but an earlier route ran'
            : 'no match';
          return (
            <li key={route.name}>
              <p>
                Route <strong>{route.name}</strong>:{' '}
                <span class={ran ? 'state state-succeeded' : 'state state-ignored'}>{verdict}</span>
              </p>
              {route.conditions.length === 0 ? (
                <p class="muted">no conditions: always holds</p>
              ) : (
                <ul class="conditions">
                  {route.conditions.map((trace, i) => (
                    <Condition key={i} trace={trace} />
                  ))}
                </ul>
              )}
            </li>
          );
        })}
      </ol>
      {e.error ? (
        <p class="error">
          Answer: {e.error.status} {e.error.code}: {e.error.message}
        </p>
      ) : e.matched.length === 0 ? (
        <p>Answer: 202 ignored: no route matched.</p>
      ) : null}
      {e.executions.map((x) => (
        <div key={x.route}>
          <h4>
            Execute request (route {x.route} → flow {x.flowId})
          </h4>
          <pre aria-label={`Execute request of route ${x.route}`}>
            {`${x.request.method} ${x.request.path}\n${Object.entries(x.request.headers)
              .map(([n, v]) => `${n}: ${v}`)
              .join('\n')}\n\n${JSON.stringify(x.request.body, null, 2)}`}
          </pre>
        </div>
      ))}
    </section>
  );
}
