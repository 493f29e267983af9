import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { lintGutter, setDiagnostics } from '@codemirror/lint';
import { EditorState } from '@codemirror/state';
import { EditorView, highlightActiveLine, keymap, lineNumbers } from '@codemirror/view';
import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import { cspNonce } from '../app/csp-nonce.ts';
import type { YamlProblem } from './yaml-doc.ts';

/**
 * CodeMirror 6 for template YAML, loaded only when a template is opened. Problems (YAML syntax, the
 * server's validation errors) are shown as diagnostics on their lines. Tab indents; Escape then Tab
 * leaves the editor (CodeMirror's own convention), so the keyboard is never trapped.
 */
export default function YamlEditor(props: {
  value: string;
  onChange: (text: string) => void;
  problems: readonly YamlProblem[];
  label: string;
  readOnly?: boolean;
}): ReactNode {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | undefined>(undefined);
  const onChange = useRef(props.onChange);
  onChange.current = props.onChange;

  useEffect(() => {
    // Inside a shadow root CodeMirror's styles become constructed stylesheets, which the page's CSP
    // (style-src 'self') does not block; in the document they are <style> tags it drops.
    const el = host.current!;
    const shadow = el.shadowRoot ?? el.attachShadow({ mode: 'open' });
    const parent = el.ownerDocument.createElement('div');
    shadow.replaceChildren(parent);
    // Colours from the page's variables (custom properties reach into the shadow root), so the editor
    // follows the light/dark system theme; the default highlight colours suit light backgrounds only.
    const dark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
    const theme = EditorView.theme(
      {
        '&': { backgroundColor: 'var(--panel)', color: 'var(--text)' },
        '.cm-gutters': {
          backgroundColor: 'var(--bg)',
          color: 'var(--muted)',
          borderRight: '1px solid var(--border)',
        },
        '.cm-activeLine': { backgroundColor: 'transparent' },
        '.cm-cursor': { borderLeftColor: 'var(--text)' },
      },
      { dark },
    );
    const v = new EditorView({
      parent,
      root: shadow,
      state: EditorState.create({
        doc: props.value,
        extensions: [
          EditorView.cspNonce.of(cspNonce()), // its theme is a <style> element: the page's CSP needs the nonce
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          theme,
          ...(dark ? [] : [syntaxHighlighting(defaultHighlightStyle)]),
          yaml(),
          lintGutter(),
          keymap.of([...defaultKeymap, ...historyKeymap, indentWithTab]),
          EditorState.readOnly.of(props.readOnly ?? false),
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          // The page's CSS does not reach into the shadow root; custom properties do.
          EditorView.theme({
            '&': { minHeight: '320px' },
            '&.cm-focused': { outline: '3px solid var(--focus)' },
          }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChange.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => v.destroy();
    // The editor owns its text after creation; `value` changes from outside are applied below.
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== props.value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: props.value } });
  }, [props.value]);

  useEffect(() => {
    const v = view.current;
    if (!v) return;
    const len = v.state.doc.length;
    v.dispatch(
      setDiagnostics(
        v.state,
        props.problems.map((p) => ({
          from: Math.min(p.from, len),
          to: Math.min(Math.max(p.to, p.from), len),
          severity: 'error' as const,
          message: p.message,
        })),
      ),
    );
  }, [props.problems]);

  return <div ref={host} className="yaml-editor" data-testid="yaml-editor" />;
}
