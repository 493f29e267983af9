import type { SandboxView } from '@agenttier/sdk';
import { useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { useNavigate } from 'react-router';
import { useSandboxAction } from '../api/queries.ts';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { ErrorNote } from './ErrorNote.tsx';
import { FormSection, SubmitButton, TextField } from './parts/form-parts.tsx';
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
      <Limits sandbox={sandbox} />
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
  const patch = async (body: Parameters<typeof handle.update>[0], saved = 'Saved.'): Promise<void> => {
    setBusy(true);
    setError(undefined);
    setDone(undefined);
    try {
      const r = await handle.update(body);
      setDone(typeof r.message === 'string' && r.message ? `${saved} ${r.message}.` : saved);
      await qc.invalidateQueries({ queryKey: ['sandbox', sandbox.namespace, sandbox.name] });
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return { patch, busy, error, done };
}

type PatchBody = Parameters<ReturnType<typeof useSandboxHandle>['update']>[0];

const LIMIT_FIELDS = [
  { id: 'set-timeout', label: 'Maximum runtime', placeholder: 'template default', size: 10 },
  { id: 'set-idle', label: 'Idle timeout', placeholder: 'template default', size: 10 },
  { id: 'set-cpu', label: 'CPU limit', placeholder: 'e.g. 2', size: 6 },
  { id: 'set-memory', label: 'Memory limit', placeholder: 'e.g. 2Gi', size: 8 },
] as const;

/** The PATCH for the limits form (only what changed), or what to fix first. */
export function limitsPatch(
  sandbox: Pick<SandboxView, 'timeout' | 'idleTimeout'>,
  [timeout = '', idle = '', cpu = '', memory = '']: readonly string[],
): PatchBody | string {
  const body: { timeout?: string; idleTimeout?: string; resources?: { limits: Record<string, string> } } = {};
  if (timeout && timeout !== sandbox.timeout) body.timeout = timeout;
  if (idle && idle !== sandbox.idleTimeout) body.idleTimeout = idle;
  const bad = [body.timeout, body.idleTimeout].find((v) => v !== undefined && !DURATION_RE.test(v));
  if (bad !== undefined)
    return `“${bad}” is not a duration: write e.g. 90s, 30m, 8h or 1h30m (0s means no limit).`;
  if (cpu && !CPU_RE.test(cpu)) return 'CPU is cores (e.g. 2 or 0.5) or millicores (e.g. 500m).';
  if (memory && !MEMORY_RE.test(memory)) return 'Memory is a quantity such as 512Mi or 2Gi.';
  if (cpu || memory) body.resources = { limits: { ...(cpu ? { cpu } : {}), ...(memory ? { memory } : {}) } };
  return Object.keys(body).length === 0 ? 'Change a value first.' : body;
}

/** Timeouts and resources, saved with one PATCH of what changed. */
function Limits({ sandbox }: SandboxTabProps): ReactNode {
  const [values, setValues] = useState<string[]>([sandbox.timeout ?? '', sandbox.idleTimeout ?? '', '', '']);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const { patch, busy, error, done } = usePatch(sandbox);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    const body = limitsPatch(
      sandbox,
      values.map((v) => v.trim()),
    );
    if (typeof body === 'string') return setProblem(body);
    setProblem(undefined);
    void patch(body);
  };
  return (
    <FormSection
      id="settings-limits"
      title="Timeouts and resources"
      onSubmit={submit}
      problem={problem}
      error={error}
      done={done}
      hint="Timeouts apply at once: the sandbox stops (keeping its workspace) when either runs out. CPU and memory take effect the next time it is stopped and resumed. Empty fields keep the current value."
    >
      <div className="row wrap">
        {LIMIT_FIELDS.map((f, i) => (
          <TextField
            key={f.id}
            {...f}
            value={values[i] ?? ''}
            onValue={(v) => setValues(values.map((old, j) => (j === i ? v : old)))}
          />
        ))}
        <SubmitButton busy={busy} label="Save timeouts and resources" busyLabel="Saving…" />
      </div>
    </FormSection>
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
  // A JSON merge patch: null removes the one label and leaves the others as they are.
  const remove = (key: string): void => {
    setProblem(undefined);
    void patch({ labels: { [key]: null } }, `Removed label ${key}.`);
  };
  return (
    <FormSection
      id="settings-labels"
      title="Labels"
      onSubmit={submit}
      problem={problem}
      error={error}
      done={done}
      hint="Labels are applied at once; filters and scripts can select sandboxes by them."
    >
      <>
        {current.length === 0 ? (
          <p className="muted">No labels.</p>
        ) : (
          <ul className="sbx-labels" aria-label="Current labels">
            {current.map(([k, v]) => (
              <li key={k} className="row">
                <code>
                  {k}={v}
                </code>
                <button
                  type="button"
                  disabled={busy}
                  onClick={() => remove(k)}
                  aria-label={`Remove label ${k}`}
                >
                  Remove
                </button>
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
          <SubmitButton busy={busy} label="Save labels" busyLabel="Saving…" />
        </div>
      </>
    </FormSection>
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
