import { FitAddon } from '@xterm/addon-fit';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { useEffect, useImperativeHandle, useRef } from 'react';
import type { ReactNode, Ref } from 'react';
import { adoptInlineStyles } from './adopt-inline-styles.ts';
import type { TerminalSession } from './terminal-session.ts';

export interface XtermHandle {
  /** The selected text, for Copy. */
  selection(): string;
  focus(): void;
}

/**
 * xterm.js bound to one TerminalSession: keystrokes and pastes go to the shell, output comes back,
 * the size follows the element (ResizeObserver → fit → resize frame). Loaded only with the Terminal
 * tab, so xterm.js stays out of the initial bundle.
 */
export default function XtermView(props: {
  session: TerminalSession;
  label: string;
  /** When true, Tab and Shift+Tab leave the terminal instead of reaching the shell. */
  tabMovesFocus: boolean;
  ref?: Ref<XtermHandle>;
}): ReactNode {
  const host = useRef<HTMLDivElement>(null);
  const term = useRef<Terminal | undefined>(undefined);
  const tabMovesFocus = useRef(props.tabMovesFocus);
  tabMovesFocus.current = props.tabMovesFocus;

  useImperativeHandle(props.ref, () => ({
    selection: () => term.current?.getSelection() ?? '',
    focus: () => term.current?.focus(),
  }));

  useEffect(() => {
    const el = host.current;
    if (!el) return;
    const dark = window.matchMedia?.('(prefers-color-scheme: dark)').matches ?? false;
    const t = new Terminal({
      cursorBlink: true,
      fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace',
      fontSize: 14,
      scrollback: 5000,
      screenReaderMode: false,
      theme: dark
        ? { background: '#111418', foreground: '#e6e6e6', cursor: '#e6e6e6' }
        : { background: '#ffffff', foreground: '#1d1f21', cursor: '#1d1f21', selectionBackground: '#b5d5ff' },
    });
    const fit = new FitAddon();
    t.loadAddon(fit);
    const unadopt = adoptInlineStyles(el);
    // Returning false leaves the key to the browser (focus moves on); the shell never sees it.
    t.attachCustomKeyEventHandler((e) => !(tabMovesFocus.current && e.key === 'Tab'));
    t.open(el);
    t.textarea?.setAttribute('aria-label', props.label);
    term.current = t;
    const { session } = props;
    const offOutput = session.onOutput((text) => t.write(text));
    const offReset = session.onReset(() => t.reset());
    const input = t.onData((data) => session.write(data));
    const resize = t.onResize(({ cols, rows }) => session.resize(cols, rows));
    const refit = (): void => {
      if (el.clientWidth > 0 && el.clientHeight > 0) fit.fit();
    };
    const ro = new ResizeObserver(refit);
    ro.observe(el);
    refit();
    session.resize(t.cols, t.rows);
    t.focus();
    return () => {
      ro.disconnect();
      input.dispose();
      resize.dispose();
      offOutput();
      offReset();
      t.dispose();
      unadopt();
      term.current = undefined;
    };
  }, [props.session]);

  return <div ref={host} className="sbx-xterm" data-session={props.session.name} />;
}
