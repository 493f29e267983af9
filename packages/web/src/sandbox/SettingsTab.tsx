import type { SandboxView } from '@agenttier/sdk';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useSandboxAction } from '../api/queries.ts';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import type { SandboxTabProps } from './tabs.ts';
import { useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';

const DURATION_RE = /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/;
const CPU_RE = /^(\d+(\.\d+)?|\d+m)$/;
const MEMORY_RE = /^\d+(\.\d+)?(Ki|Mi|Gi|Ti|K|M|G|T)?$/;

/** `key=value` lines → labels; the problem with the first bad line otherwise. */
export function parseLabels(text: string): Record<string, string> | string {
  const out: Record<string, string> = {};
  for (const [i, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (line === '') continue;
    const eq = line.indexOf('=');
    if (eq <= 0) return `Line ${i + 1}: write key=value.`;
    out[line.slice(0, eq).trim()] = line.slice(eq + 1).trim();
  }
  return out;
}

/** Settings tab: timeouts and resources (PATCH), labels, and the danger zone. */
export default function SettingsTab({ sandbox }: SandboxTabProps): ReactNode {
  return (
    <div className="stack">
      <Timeouts sandbox={sandbox} />
      <Resources sandbox={sandbox} />
      <Labels sandbox={sandbox} />
      <DangerZone sandbox={sandbox} />
    </div>
  );
}

function usePatch(sandbox: SandboxView) {
  const handle = useSandboxHandle(sandbox);
  const qc = useQueryClient();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [done, setDone] = useState<string | undefined>(undefined);
  const patch = async (body: Parameters<typeof handle.update>[0]): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const r = await handle.update(body);
      setDone(typeof r.message === 'string' && r.message ? `Saved. ${r.message}.` : 'Saved.');
      await qc.invalidateQueries({ queryKey: ['sandbox', sandbox.namespace, sandbox.name] });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { patch, busy, error, done };
}

function Outcome(p: { error: unknown; done: string | undefined }): ReactNode {
  if (p.error) return <ErrorNote error={p.error} />;
  if (p.done)
    return (
      <p role="status" className="sbx-ok">
        {p.done}
      </p>
    );
  return null;
}

function Timeouts({ sandbox }: SandboxTabProps): ReactNode {
  const [timeout, setTimeoutText] = useState(sandbox.timeout ?? '');
  const [idle, setIdle] = useState(sandbox.idleTimeout ?? '');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const { patch, busy, error, done } = usePatch(sandbox);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const body: { timeout?: string; idleTimeout?: string } = {};
    if (timeout.trim() && timeout.trim() !== sandbox.timeout) body.timeout = timeout.trim();
    if (idle.trim() && idle.trim() !== sandbox.idleTimeout) body.idleTimeout = idle.trim();
    const bad = Object.values(body).find((v) => !DURATION_RE.test(v));
    if (bad !== undefined) {
      setProblem(`“${bad}” is not a duration: write e.g. 90s, 30m, 8h or 1h30m (0s means no limit).`);
      return;
    }
    if (Object.keys(body).length === 0) {
      setProblem('Change a value first.');
      return;
    }
    setProblem(undefined);
    void patch(body);
  };
  return (
    <form className="stack sbx-form" onSubmit={submit} aria-labelledby="settings-timeouts">
      <h2 id="settings-timeouts">Timeouts</h2>
      <div className="row wrap">
        <label htmlFor="set-timeout">Maximum runtime</label>
        <input
          id="set-timeout"
          value={timeout}
          onChange={(e) => setTimeoutText(e.target.value)}
          placeholder="template default"
          size={10}
        />
        <label htmlFor="set-idle">Idle timeout</label>
        <input
          id="set-idle"
          value={idle}
          onChange={(e) => setIdle(e.target.value)}
          placeholder="template default"
          size={10}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save timeouts'}
        </button>
      </div>
      <p className="muted small">
        Applied at once. The sandbox stops (keeping its workspace) when either runs out.
      </p>
      {problem ? (
        <p role="alert" className="sbx-error">
          {problem}
        </p>
      ) : null}
      <Outcome error={error} done={done} />
    </form>
  );
}

function Resources({ sandbox }: SandboxTabProps): ReactNode {
  const [cpu, setCpu] = useState('');
  const [memory, setMemory] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const { patch, busy, error, done } = usePatch(sandbox);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const limits: { cpu?: string; memory?: string } = {};
    if (cpu.trim()) {
      if (!CPU_RE.test(cpu.trim()))
        return setProblem('CPU is cores (e.g. 2 or 0.5) or millicores (e.g. 500m).');
      limits.cpu = cpu.trim();
    }
    if (memory.trim()) {
      if (!MEMORY_RE.test(memory.trim())) return setProblem('Memory is a quantity such as 512Mi or 2Gi.');
      limits.memory = memory.trim();
    }
    if (!limits.cpu && !limits.memory) return setProblem('Enter a CPU or memory limit first.');
    setProblem(undefined);
    void patch({ resources: { limits } });
  };
  return (
    <form className="stack sbx-form" onSubmit={submit} aria-labelledby="settings-resources">
      <h2 id="settings-resources">Resources</h2>
      <div className="row wrap">
        <label htmlFor="set-cpu">CPU limit</label>
        <input
          id="set-cpu"
          value={cpu}
          onChange={(e) => setCpu(e.target.value)}
          placeholder="e.g. 2"
          size={6}
        />
        <label htmlFor="set-memory">Memory limit</label>
        <input
          id="set-memory"
          value={memory}
          onChange={(e) => setMemory(e.target.value)}
          placeholder="e.g. 2Gi"
          size={8}
        />
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save resources'}
        </button>
      </div>
      <p className="muted small">
        Takes effect the next time the sandbox is stopped and resumed. Empty fields keep the current value.
      </p>
      {problem ? (
        <p role="alert" className="sbx-error">
          {problem}
        </p>
      ) : null}
      <Outcome error={error} done={done} />
    </form>
  );
}

function Labels({ sandbox }: SandboxTabProps): ReactNode {
  const [text, setText] = useState('');
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const { patch, busy, error, done } = usePatch(sandbox);
  const current = Object.entries(sandbox.labels ?? {});
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const labels = parseLabels(text);
    if (typeof labels === 'string') return setProblem(labels);
    if (Object.keys(labels).length === 0) return setProblem('Add at least one key=value line.');
    setProblem(undefined);
    void patch({ labels }).then(() => setText(''));
  };
  return (
    <form className="stack sbx-form" onSubmit={submit} aria-labelledby="settings-labels">
      <h2 id="settings-labels">Labels</h2>
      {current.length === 0 ? (
        <p className="muted">No labels.</p>
      ) : (
        <ul className="sbx-labels" aria-label="Current labels">
          {current.map(([k, v]) => (
            <li key={k}>
              <code>
                {k}={v}
              </code>
            </li>
          ))}
        </ul>
      )}
      <label htmlFor="set-labels">Add or change labels (one key=value per line)</label>
      <textarea
        id="set-labels"
        rows={3}
        value={text}
        onChange={(e) => setText(e.target.value)}
        placeholder="team=ml"
      />
      <div>
        <button type="submit" className="primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save labels'}
        </button>
      </div>
      {problem ? (
        <p role="alert" className="sbx-error">
          {problem}
        </p>
      ) : null}
      <Outcome error={error} done={done} />
    </form>
  );
}

function DangerZone({ sandbox }: SandboxTabProps): ReactNode {
  const action = useSandboxAction();
  const navigate = useNavigate();
  const [confirm, setConfirm] = useState<'stop' | 'delete' | undefined>(undefined);
  const [typed, setTyped] = useState('');
  const stopped = sandbox.phase === 'Stopped' || sandbox.desiredState === 'Stopped';
  return (
    <section className="stack sbx-danger" aria-labelledby="settings-danger">
      <h2 id="settings-danger">Danger zone</h2>
      <div className="row wrap">
        {stopped ? (
          <button
            type="button"
            disabled={action.isPending || sandbox.phase === 'Deleting'}
            onClick={() => action.mutate({ action: 'resume', sandbox })}
          >
            Resume sandbox
          </button>
        ) : (
          <button type="button" disabled={action.isPending} onClick={() => setConfirm('stop')}>
            Stop sandbox
          </button>
        )}
        <button
          type="button"
          className="danger"
          disabled={action.isPending}
          onClick={() => setConfirm('delete')}
        >
          Delete sandbox
        </button>
      </div>
      {action.isError ? <ErrorNote error={action.error} /> : null}
      {confirm === 'stop' ? (
        <ConfirmDialog
          open
          title={`Stop ${sandbox.name}?`}
          confirmLabel="Stop"
          onCancel={() => setConfirm(undefined)}
          onConfirm={() => {
            setConfirm(undefined);
            action.mutate({ action: 'stop', sandbox });
          }}
        >
          <p>Running programs and terminal sessions end. The workspace is kept; resume to continue.</p>
        </ConfirmDialog>
      ) : null}
      {confirm === 'delete' ? (
        <ConfirmDialog
          open
          title={`Delete ${sandbox.name}?`}
          confirmLabel="Delete forever"
          danger
          onCancel={() => {
            setConfirm(undefined);
            setTyped('');
          }}
          onConfirm={() => {
            if (typed !== sandbox.name) return;
            setConfirm(undefined);
            action.mutate({ action: 'delete', sandbox }, { onSuccess: () => void navigate('/') });
          }}
        >
          <p>The sandbox and its workspace volume are removed. This cannot be undone.</p>
          <label htmlFor="delete-confirm-name">
            Type <strong>{sandbox.name}</strong> to confirm
          </label>
          <input
            id="delete-confirm-name"
            value={typed}
            onChange={(e) => setTyped(e.target.value)}
            autoComplete="off"
          />
          {typed && typed !== sandbox.name ? (
            <p className="muted small">The name does not match yet.</p>
          ) : null}
        </ConfirmDialog>
      ) : null}
    </section>
  );
}
