import type { ProcessInfo, Sandbox } from '@agenttier/sdk';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { adviseError, type ErrorAdvice } from './error-advice.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { LogBuffer } from './log-buffer.ts';
import { LogPanel } from './LogPanel.tsx';
import { isRunning, NotRunning } from './NotRunning.tsx';
import type { SandboxTabProps } from './tabs.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';

const SIGNALS = [
  'SIGTERM',
  'SIGINT',
  'SIGHUP',
  'SIGQUIT',
  'SIGUSR1',
  'SIGUSR2',
  'SIGSTOP',
  'SIGCONT',
  'SIGKILL',
];
const POLL_MS = 2000;

/** Processes tab: background processes with their live output; start, signal and kill. */
export default function ProcessesTab({ sandbox }: SandboxTabProps): ReactNode {
  if (!isRunning(sandbox)) return <NotRunning sandbox={sandbox} what="processes" />;
  return <Processes sandbox={sandbox} />;
}

function commandText(p: ProcessInfo): string {
  const c = (p as { command?: unknown }).command;
  return Array.isArray(c) ? c.join(' ') : String(c ?? '');
}

function Processes({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  const qc = useQueryClient();
  const key = sbxKeys.processes(sandbox.namespace, sandbox.name);
  const list = useQuery({
    queryKey: key,
    queryFn: ({ signal }) => handle.processes.list({ signal }),
    refetchInterval: POLL_MS,
    retry: false,
  });
  const [selected, setSelected] = useState<string | undefined>(undefined);
  const [command, setCommand] = useState('');
  const [name, setName] = useState('');
  const start = useMutation({
    mutationFn: () => handle.processes.start(command.trim(), name.trim() ? { name: name.trim() } : {}),
    onSuccess: (p) => {
      setSelected(p.id);
      setCommand('');
      setName('');
      void qc.invalidateQueries({ queryKey: key });
    },
  });
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    if (command.trim()) start.mutate();
  };
  const processes = [...(list.data ?? [])].sort((a, b) =>
    String(b.startedAt).localeCompare(String(a.startedAt)),
  );
  const current = processes.find((p) => p.id === selected);

  return (
    <div className="stack">
      <form className="stack sbx-form" onSubmit={submit} aria-label="Start a background process">
        <h2>Start a process</h2>
        <div className="row wrap">
          <label htmlFor="proc-cmd">Command</label>
          <input
            id="proc-cmd"
            className="grow"
            value={command}
            onChange={(e) => setCommand(e.target.value)}
            placeholder="python3 -m http.server 8000"
            required
          />
          <label htmlFor="proc-name">Name (optional)</label>
          <input
            id="proc-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            placeholder="web"
            size={10}
          />
          <button type="submit" className="primary" disabled={start.isPending || !command.trim()}>
            {start.isPending ? 'Starting…' : 'Start'}
          </button>
        </div>
        <p className="muted small">
          Runs with /bin/sh -c in the sandbox and keeps running when you leave this page.
        </p>
        {start.isError ? <ErrorNote error={start.error} /> : null}
      </form>
      <h2>Processes</h2>
      {list.isPending ? (
        <p role="status" className="sbx-wait">
          <span className="sbx-spinner" aria-hidden="true" /> Loading processes…
        </p>
      ) : list.isError ? (
        <ErrorNote error={list.error} />
      ) : processes.length === 0 ? (
        <p className="muted">No background processes yet. Start one above.</p>
      ) : (
        <div className="sbx-table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Command</th>
                <th scope="col">State</th>
                <th scope="col">PID</th>
                <th scope="col">Started</th>
                <th scope="col">Actions</th>
              </tr>
            </thead>
            <tbody>
              {processes.map((p) => (
                <tr key={p.id} className={p.id === selected ? 'selected' : ''}>
                  <td>{p.name || p.id}</td>
                  <td>
                    <code>{commandText(p)}</code>
                  </td>
                  <td>
                    {p.state}
                    {p.state !== 'running' && p.exitCode !== null && p.exitCode !== undefined
                      ? ` (exit ${p.exitCode})`
                      : ''}
                    {p.signal ? ` (${p.signal})` : ''}
                  </td>
                  <td>{p.pid ?? '—'}</td>
                  <td>{p.startedAt ? new Date(p.startedAt).toLocaleTimeString() : '—'}</td>
                  <td>
                    <button
                      type="button"
                      onClick={() => setSelected(p.id)}
                      aria-label={`Output of ${p.name || p.id}`}
                    >
                      Output
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {current ? (
        <ProcessDetail
          key={current.id}
          process={current}
          sandbox={handle}
          onChanged={() => void qc.invalidateQueries({ queryKey: key })}
        />
      ) : null}
    </div>
  );
}

function ProcessDetail(props: { process: ProcessInfo; sandbox: Sandbox; onChanged: () => void }): ReactNode {
  const p = props.process;
  const [buffer] = useState(() => new LogBuffer());
  const [text, setText] = useState('');
  const [streamState, setStreamState] = useState<'following' | 'ended' | ErrorAdvice>('following');
  const [signal, setSignal] = useState('SIGTERM');
  const [confirmKill, setConfirmKill] = useState(false);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    const abort = new AbortController();
    buffer.clear();
    setStreamState('following');
    void (async () => {
      try {
        for await (const ev of props.sandbox.processes.output(p.id, { signal: abort.signal })) {
          if (ev.type === 'stdout' || ev.type === 'stderr') {
            buffer.append(ev.data);
            setText(buffer.text);
          } else if (ev.type === 'exit') {
            setStreamState('ended');
            props.onChanged();
          }
        }
      } catch (err) {
        if (!abort.signal.aborted) setStreamState(adviseError(err));
      }
    })();
    return () => abort.abort();
    // Follows one process for the life of this panel (keyed by id).
  }, []);

  const act = async (fn: () => Promise<unknown>): Promise<void> => {
    setBusy(true);
    setActionError(undefined);
    try {
      await fn();
      props.onChanged();
    } catch (err) {
      setActionError(err);
    } finally {
      setBusy(false);
    }
  };

  const running = p.state === 'running';
  return (
    <section className="stack" aria-label={`Process ${p.name || p.id}`}>
      <div className="row spread wrap">
        <h3>
          Output of <code>{p.name || p.id}</code>
        </h3>
        {running ? (
          <div className="row wrap">
            <label htmlFor="proc-signal">Signal</label>
            <select id="proc-signal" value={signal} onChange={(e) => setSignal(e.target.value)}>
              {SIGNALS.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
            <button
              type="button"
              disabled={busy}
              onClick={() => void act(() => props.sandbox.processes.signal(p.id, signal))}
            >
              Send
            </button>
            <button type="button" className="danger" disabled={busy} onClick={() => setConfirmKill(true)}>
              Kill
            </button>
          </div>
        ) : null}
      </div>
      <p role="status" className="muted small">
        {streamState === 'following'
          ? running
            ? 'Following live output…'
            : 'Replaying output…'
          : streamState === 'ended'
            ? `Finished${p.exitCode !== null && p.exitCode !== undefined ? ` with exit code ${p.exitCode}` : ''}.`
            : `Output stream stopped: ${streamState.message} ${streamState.next}`}
      </p>
      {actionError ? <ErrorNote error={actionError} /> : null}
      <LogPanel
        text={text}
        label={`Output of process ${p.name || p.id}`}
        dropped={buffer.dropped}
        busy={streamState === 'following'}
      />
      {confirmKill ? (
        <ConfirmDialog
          open
          title={`Kill ${p.name || p.id}?`}
          confirmLabel="Kill"
          danger
          onCancel={() => setConfirmKill(false)}
          onConfirm={() => {
            setConfirmKill(false);
            void act(() => props.sandbox.processes.kill(p.id));
          }}
        >
          <p>The process and its children get SIGKILL at once and cannot clean up.</p>
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
