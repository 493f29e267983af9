import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { javascript } from '@codemirror/lang-javascript';
import { json } from '@codemirror/lang-json';
import { markdown } from '@codemirror/lang-markdown';
import { python } from '@codemirror/lang-python';
import { yaml } from '@codemirror/lang-yaml';
import {
  bracketMatching,
  defaultHighlightStyle,
  indentOnInput,
  syntaxHighlighting,
} from '@codemirror/language';
import { EditorState, type Extension } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine } from '@codemirror/view';
import { useEffect, useRef } from 'react';
import type { ReactNode } from 'react';
import type { EditorLanguage } from './file-kinds.ts';

function languageExtension(lang: EditorLanguage): Extension {
  switch (lang) {
    case 'javascript':
      return javascript();
    case 'typescript':
      return javascript({ typescript: true });
    case 'python':
      return python();
    case 'json':
      return json();
    case 'markdown':
      return markdown();
    case 'yaml':
      return yaml();
    default:
      return [];
  }
}

/** Inside the shadow root the page's CSS does not reach: size, font and focus ring are set here. */
const editorTheme = EditorView.theme({
  '&': { minHeight: '300px', maxHeight: '70vh', fontSize: '14px' },
  '.cm-scroller': { fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace' },
  '&.cm-focused': { outline: '3px solid #1a5fd0' },
});

/**
 * CodeMirror 6 for one text file; loaded with the editor only. Tab indents (Escape then Tab leaves
 * the editor, CodeMirror's own escape hatch); Ctrl/Cmd+S saves.
 */
export default function CodeEditor(props: {
  initial: string;
  language: EditorLanguage;
  label: string;
  onChange: (text: string) => void;
  onSave: () => void;
}): ReactNode {
  const host = useRef<HTMLDivElement>(null);
  const handlers = useRef(props);
  handlers.current = props;

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    // In a shadow root CodeMirror's style modules become constructed stylesheets, which the page's
    // CSP (style-src 'self') does not block; in the document they would be <style> tags it drops.
    const shadow = el.shadowRoot ?? el.attachShadow({ mode: 'open' });
    const parent = el.ownerDocument.createElement('div');
    shadow.replaceChildren(parent);
    const view = new EditorView({
      parent,
      root: shadow,
      state: EditorState.create({
        doc: props.initial,
        extensions: [
          lineNumbers(),
          history(),
          indentOnInput(),
          bracketMatching(),
          highlightActiveLine(),
          syntaxHighlighting(defaultHighlightStyle, { fallback: true }),
          keymap.of([
            { key: 'Mod-s', preventDefault: true, run: () => (handlers.current.onSave(), true) },
            ...defaultKeymap,
            ...historyKeymap,
            indentWithTab,
          ]),
          languageExtension(props.language),
          EditorView.contentAttributes.of({ 'aria-label': props.label }),
          editorTheme,
          EditorView.updateListener.of((u) => {
            if (u.docChanged) handlers.current.onChange(u.state.doc.toString());
          }),
        ],
      }),
    });
    return () => view.destroy();
    // A new file remounts the component (keyed by path); the initial text is read once.
  }, []);

  return <div ref={host} className="sbx-editor" />;
}
