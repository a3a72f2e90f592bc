/** A condition as explained: its text, whether it held, the values found (or its children). */
interface Trace {
  readonly condition: string;
  readonly held: boolean;
  readonly found?: readonly unknown[];
  readonly children?: readonly Trace[];
  /** Why a value that looks equal did not compare equal (text vs number or boolean). */
  readonly hint?: string;
}

/** A routing explanation, as `flowhook test` computes it and as a delivery stores it. */
export interface ExplanationLike {
  readonly routes: readonly { name: string; held: boolean; conditions: readonly Trace[] }[];
  readonly matched: readonly string[];
  readonly error?: { status: number; code: string; message: string };
  readonly executions?: readonly {
    route: string;
    request: { method: string; path: string; headers: Record<string, string>; body: unknown };
  }[];
}

/**
 * Route by route, condition by condition (✓/✗ and the values found), the answer when nothing ran,
 * then the execute requests: what `flowhook test` and `flowhook deliveries <id>` print.
 */
export function explanationLines(e: ExplanationLike): string[] {
  const lines: string[] = [];
  for (const route of e.routes) {
    const ran = e.matched.includes(route.name);
    lines.push(
      '',
      `route ${route.name}: ${route.held ? (ran ? 'MATCHED' : 'holds, but an earlier route ran') : 'no match'}`,
    );
    if (route.conditions.length === 0) lines.push('  (no conditions: always holds)');
    for (const condition of route.conditions) lines.push(...traceLines(condition, '  '));
  }
  if (e.error) {
    lines.push('', `answer: ${e.error.status} ${e.error.code}: ${e.error.message}`);
  } else if (e.matched.length === 0) {
    lines.push('', 'answer: 202 ignored: no route matched');
  }
  for (const execution of e.executions ?? []) {
    const { request } = execution;
    lines.push('', `execute (route ${execution.route}):`, `  ${request.method} ${request.path}`);
    for (const [name, value] of Object.entries(request.headers)) lines.push(`  ${name}: ${value}`);
    lines.push(
      ...JSON.stringify(request.body, null, 2)
        .split('\n')
        .map((line) => `  ${line}`),
    );
  }
  return lines;
}

function traceLines(trace: Trace, indent: string): string[] {
  const mark = trace.held ? '✓' : '✗';
  if (trace.children) {
    return [
      `${indent}${mark} ${trace.condition}:`,
      ...trace.children.flatMap((c) => traceLines(c, `${indent}  `)),
    ];
  }
  const found = trace.found?.length
    ? trace.found.map((v) => JSON.stringify(v)).join(', ')
    : 'nothing';
  const line = `${indent}${mark} ${trace.condition}    found: ${found}`;
  return trace.hint ? [line, `${indent}  hint: ${trace.hint}`] : [line];
}
