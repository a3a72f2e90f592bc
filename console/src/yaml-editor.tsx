import { autocompletion, closeBrackets, completionKeymap } from '@codemirror/autocomplete';
import { defaultKeymap, history, historyKeymap } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import { defaultHighlightStyle, indentUnit, syntaxHighlighting } from '@codemirror/language';
import { lintGutter, setDiagnostics, type Diagnostic } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'preact/hooks';
import type { Problem } from './api';
import { schemaCompletion } from './schema-completion';

/** Problems from the server (schema validation, YAML syntax, compile) as inline diagnostics. */
function diagnosticsOf(state: EditorState, problems: readonly Problem[]): Diagnostic[] {
  return problems.map((p) => {
    const lineNumber = Math.min(Math.max(p.line ?? 1, 1), state.doc.lines);
    const line = state.doc.line(lineNumber);
    const from = Math.min(line.from + Math.max((p.column ?? 1) - 1, 0), line.to);
    return { from, to: Math.max(line.to, from), severity: 'error', message: p.message };
  });
}

const layout = EditorView.theme({
  '&': { minHeight: '320px', maxHeight: '640px', backgroundColor: '#fff' },
  '.cm-scroller': {
    overflow: 'auto',
    fontFamily: "ui-monospace, 'SFMono-Regular', Menlo, Consolas, monospace",
    fontSize: '13px',
  },
  '&.cm-focused': { outline: '3px solid #ffbf47' },
});

/**
 * CodeMirror 6 with YAML, completion from the mapping schema, and the server's problems shown
 * inline at their line and column. Tab is left to the page (keyboard users can leave the editor);
 * indent with spaces.
 */
export function YamlEditor(props: {
  value: string;
  label: string;
  problems: readonly Problem[];
  onChange: (text: string) => void;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    // In a shadow root, CodeMirror's styles are constructed stylesheets (adoptedStyleSheets), not
    // <style> elements: the page's CSP (style-src 'self', no 'unsafe-inline') stays strict.
    const element = host.current as HTMLDivElement;
    const shadow = element.shadowRoot ?? element.attachShadow({ mode: 'open' });
    const parent = document.createElement('div');
    shadow.replaceChildren(parent);
    const editor = new EditorView({
      root: shadow,
      parent,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          lineNumbers(),
          history(),
          highlightActiveLine(),
          closeBrackets(),
          indentUnit.of('  '),
          yaml(),
          syntaxHighlighting(defaultHighlightStyle),
          autocompletion({ override: [schemaCompletion] }),
          lintGutter(),
          keymap.of([...defaultKeymap, ...historyKeymap, ...completionKeymap]),
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          layout,
          EditorView.updateListener.of((update) => {
            if (update.docChanged) onChange.current(update.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = editor;
    return () => editor.destroy();
    // The editor owns its text after creation; a new `value` arrives through the key of the parent.
  }, []);

  useEffect(() => {
    const editor = view.current;
    if (editor)
      editor.dispatch(setDiagnostics(editor.state, diagnosticsOf(editor.state, props.problems)));
  }, [props.problems]);

  return <div class="editor" ref={host} />;
}
