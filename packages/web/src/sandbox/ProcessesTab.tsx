import type { ProcessInfo, Sandbox } from '@agenttier/sdk';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { adviseError, type ErrorAdvice } from './error-advice.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { LogBuffer } from './log-buffer.ts';
import { LogPanel } from './LogPanel.tsx';
import { AskFirst } from './parts/AskFirst.tsx';
import { DataTable } from '../app/DataTable.tsx';
import { FormSection, NameField, SubmitButton, TextField } from './parts/form-parts.tsx';
import { QueryState } from './parts/QueryState.tsx';
import { isRunning, NotRunning } from './NotRunning.tsx';
import type { SandboxTabProps } from './tabs.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';
import { usePolled } from './parts/use-polled.ts';

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

function stateText(p: ProcessInfo): string {
  const exit =
    p.state !== 'running' && p.exitCode !== null && p.exitCode !== undefined ? ` (exit ${p.exitCode})` : '';
  return `${p.state}${exit}${p.signal ? ` (${p.signal})` : ''}`;
}

function Processes({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  const qc = useQueryClient();
  const key = sbxKeys.processes(sandbox.namespace, sandbox.name);
  const list = usePolled(key, (signal) => handle.processes.list({ signal }), POLL_MS);
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
      <FormSection
        id="proc-form-title"
        title="Start a process"
        onSubmit={submit}
        error={start.isError ? start.error : undefined}
        hint="Runs with /bin/sh -c in the sandbox and keeps running when you leave this page."
      >
        <div className="row wrap">
          <TextField
            id="proc-cmd"
            label="Command"
            className="grow"
            value={command}
            onValue={setCommand}
            placeholder="python3 -m http.server 8000"
            required
          />
          <NameField id="proc-name" value={name} onValue={setName} />
          <SubmitButton
            busy={start.isPending}
            disabled={!command.trim()}
            label="Start"
            busyLabel="Starting…"
          />
        </div>
      </FormSection>
      <h2>Processes</h2>
      <QueryState
        query={list}
        loading="Loading processes…"
        isEmpty={() => processes.length === 0}
        empty="No background processes yet. Start one above."
      >
        {() => (
          <DataTable columns={['Name', 'Command', 'State', 'PID', 'Started', 'Actions']}>
            {processes.map((p) => (
              <tr key={p.id} className={p.id === selected ? 'selected' : ''}>
                <td>{p.name || p.id}</td>
                <td>
                  <code>{commandText(p)}</code>
                </td>
                <td>{stateText(p)}</td>
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
          </DataTable>
        )}
      </QueryState>
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
      <AskFirst
        item={confirmKill ? p : undefined}
        onClose={() => setConfirmKill(false)}
        onConfirm={(target) => void act(() => props.sandbox.processes.kill(target.id))}
        title={(target) => `Kill ${target.name || target.id}?`}
        confirmLabel="Kill"
        danger
      >
        <p>The process and its children get SIGKILL at once and cannot clean up.</p>
      </AskFirst>
    </section>
  );
}
