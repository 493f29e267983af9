import { lazy, Suspense, useEffect, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { useSession } from '../auth/session.tsx';
import { isRunning, NotRunning } from './NotRunning.tsx';
import type { SandboxTabProps } from './tabs.ts';
import { SESSION_NAME_RE, TerminalSession, type TerminalStatus } from './terminal-session.ts';
import { useSandboxHandle } from './use-sandbox-handle.ts';
import type { XtermHandle } from './XtermView.tsx';
import './sandbox-tabs.css';

const XtermView = lazy(() => import('./XtermView.tsx'));

/** Session names opened in this browser tab, per sandbox (the shells themselves live in the sandbox). */
function storedSessions(key: string): string[] {
  try {
    const list = JSON.parse(sessionStorage.getItem(key) ?? '[]') as unknown;
    if (Array.isArray(list)) {
      const names = list.filter((n): n is string => typeof n === 'string' && SESSION_NAME_RE.test(n));
      if (names.length > 0) return names;
    }
  } catch {
    // unreadable storage: start with the default session
  }
  return ['main'];
}

function statusText(s: TerminalStatus): string {
  switch (s.kind) {
    case 'connecting':
      return 'Connecting…';
    case 'connected':
      return s.reconnects > 0 ? `Connected (reconnected ${s.reconnects}×)` : 'Connected';
    case 'reconnecting':
      return `Connection lost — reconnecting to the same shell (attempt ${s.attempt} of ${s.maxAttempts})…`;
    case 'ended':
      return s.text;
    case 'failed':
      return `Could not attach: ${s.text}`;
  }
}

/** Terminal tab: named shell sessions in the sandbox, each in xterm.js over `/ws/terminal`. */
export default function TerminalTab({ sandbox }: SandboxTabProps): ReactNode {
  const { state } = useSession();
  if (!isRunning(sandbox)) return <NotRunning sandbox={sandbox} what="the terminal" />;
  if (state.status === 'signed-in' && state.via === 'memory-key') {
    // A browser cannot put a key on a WebSocket; only a session cookie (or dev auth) reaches it.
    return (
      <p role="status" className="sbx-warn">
        This server offers no browser sessions, so you are signed in with a key this page keeps in memory, and
        a browser cannot send a key with a WebSocket: the terminal cannot attach. Use{' '}
        <code>agenttier sandbox terminal {sandbox.name}</code>, or the Processes tab to run commands.
      </p>
    );
  }
  return <Terminals sandbox={sandbox} />;
}

/** Viewers watch: the router drops their input and will not start a session for them. */
function ReadOnlyNote(): ReactNode {
  return (
    <p role="status" className="sbx-warn" data-terminal-mode="read-only">
      <strong>Read-only.</strong> This sandbox is shared with you as a viewer: you can watch a session someone
      with terminal access opened, but what you type is not sent and you cannot start a session.
    </p>
  );
}

function Terminals({ sandbox }: SandboxTabProps): ReactNode {
  const readOnly = sandbox.access === 'viewer';
  const handle = useSandboxHandle(sandbox);
  const storageKey = `agenttier.terminal.sessions.${sandbox.namespace}.${sandbox.name}`;
  const [names, setNames] = useState<string[]>(() => storedSessions(storageKey));
  const [active, setActive] = useState<string>(names[0] ?? 'main');
  const [newName, setNewName] = useState('');
  const [nameError, setNameError] = useState('');

  useEffect(() => {
    sessionStorage.setItem(storageKey, JSON.stringify(names));
  }, [names, storageKey]);

  const addSession = (e: FormEvent): void => {
    e.preventDefault();
    const name = newName.trim();
    if (!SESSION_NAME_RE.test(name)) {
      setNameError('Use 1–64 letters, digits, dots, dashes or underscores.');
      return;
    }
    setNameError('');
    setNewName('');
    if (!names.includes(name)) setNames([...names, name]);
    setActive(name);
  };

  const closeSession = (name: string): void => {
    const rest = names.filter((n) => n !== name);
    const next = rest.length > 0 ? rest : ['main'];
    setNames(next);
    if (active === name) setActive(next[0] ?? 'main');
  };

  return (
    <div className="stack">
      {readOnly ? <ReadOnlyNote /> : null}
      <div className="row spread wrap">
        <div role="tablist" aria-label="Terminal sessions" className="sbx-subtabs">
          {names.map((n) => (
            <button
              key={n}
              type="button"
              role="tab"
              id={`term-tab-${n}`}
              aria-selected={n === active}
              aria-controls="term-panel"
              className={n === active ? 'active' : ''}
              onClick={() => setActive(n)}
            >
              {n}
            </button>
          ))}
        </div>
        {readOnly ? null : (
          <form className="row wrap" onSubmit={addSession} aria-label="New terminal session">
            <label htmlFor="term-new-name">New session</label>
            <input
              id="term-new-name"
              value={newName}
              onChange={(e) => setNewName(e.target.value)}
              placeholder="e.g. build"
              aria-invalid={nameError ? true : undefined}
              aria-describedby={nameError ? 'term-new-name-error' : undefined}
              size={12}
            />
            <button type="submit">Open</button>
            {nameError ? (
              <span id="term-new-name-error" role="alert" className="sbx-error">
                {nameError}
              </span>
            ) : null}
          </form>
        )}
      </div>
      <div id="term-panel" role="tabpanel" aria-labelledby={`term-tab-${active}`}>
        <SessionPane
          key={active}
          name={active}
          open={(o) => handle.terminal(o)}
          readOnly={readOnly}
          onClose={names.length > 1 || active !== 'main' ? () => closeSession(active) : undefined}
        />
      </div>
    </div>
  );
}

function SessionPane(props: {
  name: string;
  open: ConstructorParameters<typeof TerminalSession>[0]['open'];
  readOnly: boolean;
  onClose: (() => void) | undefined;
}): ReactNode {
  // One session object per mounted pane, made in the effect so a remount (StrictMode) gets a fresh one.
  const [session, setSession] = useState<TerminalSession | undefined>(undefined);
  const [status, setStatus] = useState<TerminalStatus>({ kind: 'connecting' });
  const [note, setNote] = useState('');
  const [tabMovesFocus, setTabMovesFocus] = useState(false);
  const view = useRef<XtermHandle>(null);
  const open = useRef(props.open);
  open.current = props.open;

  useEffect(() => {
    const s = new TerminalSession({ session: props.name, open: (o) => open.current(o), cols: 120, rows: 32 });
    const off = s.onStatus(setStatus);
    setSession(s);
    void s.connect();
    return () => {
      off();
      s.dispose();
    };
  }, [props.name]);

  const copy = async (): Promise<void> => {
    const text = view.current?.selection() ?? '';
    if (!text) {
      setNote('Select text in the terminal first, then Copy.');
      return;
    }
    try {
      await navigator.clipboard.writeText(text);
      setNote(`Copied ${text.length} characters.`);
    } catch {
      setNote(
        'The browser refused clipboard access: use Ctrl+Shift+C / Ctrl+C after selecting, or allow clipboard access.',
      );
    }
  };

  const paste = async (): Promise<void> => {
    try {
      const text = await navigator.clipboard.readText();
      session?.write(text);
      view.current?.focus();
      setNote(text ? `Pasted ${text.length} characters.` : 'The clipboard is empty.');
    } catch {
      setNote(
        'The browser refused clipboard access: click the terminal and press Ctrl+Shift+V (or Ctrl+V) instead.',
      );
    }
  };

  const canReconnect = (status.kind === 'ended' && status.canReconnect) || status.kind === 'failed';
  return (
    <div className="stack">
      <div className="row spread wrap">
        <p role="status" className={`sbx-term-status sbx-term-${status.kind}`} data-status={status.kind}>
          <span className="sbx-dot" aria-hidden="true" /> {statusText(status)}
          {status.kind === 'failed' ? ` Next: ${status.next}` : ''}
          {status.kind === 'reconnecting' && status.lastError ? ` (${status.lastError})` : ''}
        </p>
        <div className="row wrap">
          <label className="small">
            <input
              type="checkbox"
              checked={tabMovesFocus}
              onChange={(e) => setTabMovesFocus(e.target.checked)}
            />{' '}
            Tab key leaves the terminal
          </label>
          <button type="button" onClick={() => void copy()}>
            Copy
          </button>
          {props.readOnly ? null : (
            <button type="button" onClick={() => void paste()}>
              Paste
            </button>
          )}
          {canReconnect ? (
            <button type="button" className="primary" onClick={() => void session?.connect()}>
              Reconnect
            </button>
          ) : null}
          {props.onClose ? (
            <button
              type="button"
              onClick={props.onClose}
              title="Closes this view; the shell keeps running until it exits"
            >
              Close view
            </button>
          ) : null}
        </div>
      </div>
      {note ? (
        <p className="muted small" aria-live="polite">
          {note}
        </p>
      ) : null}
      <Suspense
        fallback={
          <p role="status" className="sbx-wait">
            <span className="sbx-spinner" aria-hidden="true" /> Loading the terminal…
          </p>
        }
      >
        {session ? (
          <XtermView
            ref={view}
            session={session}
            tabMovesFocus={tabMovesFocus}
            label={`Terminal input, session ${props.name}`}
          />
        ) : null}
      </Suspense>
      <p className="muted small">
        The shell keeps running when you leave this page; open the same session again to continue where it
        was. Type <kbd>exit</kbd> to end it. Tab goes to the shell (completion); tick “Tab key leaves the
        terminal” to move on with the keyboard.
      </p>
    </div>
  );
}
