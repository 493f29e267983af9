import type { TemplateView } from '@agenttier/sdk';
import { AgentTierError } from '@agenttier/sdk';
import { useQueryClient } from '@tanstack/react-query';
import { useMemo, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { Link, useNavigate } from 'react-router';
import { useSandboxes, useTemplates } from '../api/queries.ts';
import { useClient } from '../auth/session.tsx';
import { describeError } from '../app/errors.ts';
import { PhaseBadge } from '../app/PhaseBadge.tsx';
import type { CreateForm } from './create-form.ts';
import { EMPTY_FORM, fieldProblems, requestBody, validate } from './create-form.ts';
import { nextStepFor } from './next-step.ts';
import { LoadNote } from '../app/LoadNote.tsx';

type Progress =
  | { step: 'idle' }
  | { step: 'creating' }
  | { step: 'starting'; phase: string; reason?: string | undefined }
  | { step: 'failed'; error: string; next: string };

/** New sandbox: template, name (checked as typed), overrides over the template's defaults, progress. */
export default function CreateSandbox(): ReactNode {
  const client = useClient();
  const qc = useQueryClient();
  const navigate = useNavigate();
  const templates = useTemplates();
  const existing = useSandboxes();
  const [form, setForm] = useState<CreateForm>(EMPTY_FORM);
  const [touched, setTouched] = useState<Partial<Record<keyof CreateForm, boolean>>>({});
  const [serverProblems, setServerProblems] = useState<Partial<Record<keyof CreateForm, string>>>({});
  const [progress, setProgress] = useState<Progress>({ step: 'idle' });
  const abort = useRef<AbortController | undefined>(undefined);

  const problems = useMemo(() => {
    const p = { ...validate(form), ...serverProblems };
    const taken = existing.data?.some(
      (s) => s.name === form.name.trim() && s.namespace === (form.namespace.trim() || 'default'),
    );
    if (!p.name && taken) p.name = `a sandbox named "${form.name.trim()}" already exists in this namespace`;
    return p;
  }, [form, serverProblems, existing.data]);
  const template = templates.data?.find((t) => t.name === form.template);
  const set = (field: keyof CreateForm, value: string): void => {
    setForm((f) => ({ ...f, [field]: value }));
    setTouched((t) => ({ ...t, [field]: true }));
    setServerProblems((p) => {
      const { [field]: _gone, ...rest } = p;
      return rest;
    });
  };
  const busy = progress.step === 'creating' || progress.step === 'starting';

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    setTouched({
      name: true,
      template: true,
      timeout: true,
      idleTimeout: true,
      storageSize: true,
      cpu: true,
      memory: true,
    });
    if (Object.keys(problems).length > 0) return;
    abort.current = new AbortController();
    const signal = abort.current.signal;
    setProgress({ step: 'creating' });
    try {
      const body = requestBody(form);
      const limits = (body.resources as { limits?: { cpu?: string; memory?: string } } | undefined)?.limits;
      const sandbox = await client.createSandbox({
        name: form.name.trim(),
        namespace: form.namespace.trim() || 'default',
        template: form.template,
        ...(form.timeout.trim() ? { timeout: form.timeout.trim() } : {}),
        ...(form.idleTimeout.trim() ? { idleTimeout: form.idleTimeout.trim() } : {}),
        ...(form.storageSize.trim() ? { storageSize: form.storageSize.trim() } : {}),
        ...(limits ? { resources: { limits } } : {}),
        signal,
      });
      void qc.invalidateQueries({ queryKey: ['sandboxes'] });
      setProgress({ step: 'starting', phase: sandbox.status });
      await sandbox.waitUntilRunning({
        signal,
        timeoutMs: 300_000,
        onPhase: (phase, view) => setProgress({ step: 'starting', phase, reason: view.reason }),
      });
      navigate(`/sandboxes/${encodeURIComponent(sandbox.namespace)}/${encodeURIComponent(sandbox.name)}`);
    } catch (err) {
      if (signal.aborted) return;
      if (err instanceof AgentTierError && err.details.length > 0)
        setServerProblems(fieldProblems(err.details));
      setProgress({ step: 'failed', error: describeError(err), next: nextStepFor(err) });
    }
  };

  const fieldError = (field: keyof CreateForm): string | undefined =>
    touched[field] || serverProblems[field] ? problems[field] : undefined;

  return (
    <section aria-labelledby="create-title">
      <p className="muted small">
        <Link to="/">Sandboxes</Link> / new
      </p>
      <h1 id="create-title">New sandbox</h1>
      <form className="stack create" onSubmit={(e) => void submit(e)} noValidate>
        <fieldset disabled={busy}>
          <legend>Template</legend>
          <LoadNote query={templates} what="templates" />
          <div
            className="template-grid"
            role="radiogroup"
            aria-label="Template"
            aria-describedby="template-error"
          >
            {templates.data?.map((t) => (
              <label
                key={`${t.kind}/${t.namespace ?? ''}/${t.name}`}
                className={`template-card ${form.template === t.name ? 'chosen' : ''}`}
              >
                <input
                  type="radio"
                  name="template"
                  value={t.name}
                  checked={form.template === t.name}
                  onChange={() => set('template', t.name)}
                />
                <span className="template-name">{t.name}</span>
                <span className="muted small">{t.description || 'No description.'}</span>
                <span className="small">
                  {t.mode} mode · {t.image}
                </span>
              </label>
            ))}
          </div>
          {fieldError('template') ? (
            <p id="template-error" className="error small">
              {fieldError('template')}
            </p>
          ) : null}
        </fieldset>

        <fieldset disabled={busy}>
          <legend>Name</legend>
          <Field
            id="name"
            label="Name"
            value={form.name}
            onChange={(v) => set('name', v)}
            error={fieldError('name')}
            help="Lowercase letters, digits and “-”, at most 53 characters."
            autoFocus
          />
          <Field
            id="namespace"
            label="Namespace"
            value={form.namespace}
            onChange={(v) => set('namespace', v)}
            error={fieldError('namespace')}
          />
        </fieldset>

        <details>
          <summary>Overrides (leave empty for the template's defaults)</summary>
          <fieldset disabled={busy}>
            <legend className="visually-hidden">Overrides</legend>
            <Field
              id="timeout"
              label="Maximum runtime"
              value={form.timeout}
              onChange={(v) => set('timeout', v)}
              error={fieldError('timeout')}
              placeholder={template?.spec.timeout ?? 'template default'}
              help="A duration such as 8h or 90m; 0s means no limit."
            />
            <Field
              id="idleTimeout"
              label="Idle timeout"
              value={form.idleTimeout}
              onChange={(v) => set('idleTimeout', v)}
              error={fieldError('idleTimeout')}
              placeholder={template?.spec.idleTimeout ?? 'template default'}
              help="Stopped after this long without activity."
            />
            <Field
              id="storageSize"
              label="Workspace size"
              value={form.storageSize}
              onChange={(v) => set('storageSize', v)}
              error={fieldError('storageSize')}
              placeholder={template?.spec.storage?.size ?? 'template default'}
              help="Like 10Gi."
            />
            <Field
              id="cpu"
              label="CPU limit"
              value={form.cpu}
              onChange={(v) => set('cpu', v)}
              error={fieldError('cpu')}
              placeholder={template?.spec.resources?.limits?.cpu ?? 'template default'}
              help="Cores, like 2 or 500m."
            />
            <Field
              id="memory"
              label="Memory limit"
              value={form.memory}
              onChange={(v) => set('memory', v)}
              error={fieldError('memory')}
              placeholder={template?.spec.resources?.limits?.memory ?? 'template default'}
              help="Like 2Gi; at least 16Mi."
            />
            <p className="muted small">
              Network: {networkOf(template)} (set by the template; edit the template to change it).
            </p>
          </fieldset>
        </details>

        <div className="row">
          <button type="submit" className="primary" disabled={busy}>
            {busy ? 'Creating…' : 'Create sandbox'}
          </button>
          {busy ? (
            <button type="button" onClick={() => abort.current?.abort()}>
              Stop waiting
            </button>
          ) : null}
        </div>
        <ProgressView progress={progress} />
      </form>
    </section>
  );
}

function networkOf(t: TemplateView | undefined): string {
  if (!t) return 'choose a template';
  return t.spec.network?.allowInternet ? 'internet access allowed' : 'no network (only loopback)';
}

function ProgressView({ progress }: { progress: Progress }): ReactNode {
  if (progress.step === 'idle') return null;
  if (progress.step === 'failed')
    return (
      <div role="alert" className="error card">
        <p>{progress.error}</p>
        <p>
          <strong>What to do:</strong> {progress.next}
        </p>
      </div>
    );
  const steps = ['Creating', 'Running'];
  const at = progress.step === 'creating' ? 'Sending' : progress.phase;
  return (
    <div role="status" aria-live="polite" className="card progress">
      <progress
        aria-label="Creating the sandbox"
        max={steps.length}
        value={at === 'Running' ? 2 : at === 'Creating' ? 1 : 0.3}
      />
      <p>
        {progress.step === 'creating' ? (
          'Sending the request…'
        ) : (
          <>
            Phase <PhaseBadge phase={progress.phase} reason={progress.reason} />
            {progress.reason ? ` (${progress.reason})` : ''}: waiting until it is Running.
          </>
        )}
      </p>
    </div>
  );
}

function Field(props: {
  id: string;
  label: string;
  value: string;
  onChange: (v: string) => void;
  error?: string | undefined;
  help?: string;
  placeholder?: string;
  autoFocus?: boolean;
}): ReactNode {
  const describedBy = [props.help ? `${props.id}-help` : '', props.error ? `${props.id}-error` : '']
    .filter(Boolean)
    .join(' ');
  return (
    <div className="field">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        name={props.id}
        value={props.value}
        placeholder={props.placeholder}
        autoComplete="off"
        spellCheck={false}
        autoFocus={props.autoFocus}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={describedBy || undefined}
        onChange={(e) => props.onChange(e.target.value)}
      />
      {props.help ? (
        <span id={`${props.id}-help`} className="muted small">
          {props.help}
        </span>
      ) : null}
      {props.error ? (
        <span id={`${props.id}-error`} className="error small">
          {props.error}
        </span>
      ) : null}
    </div>
  );
}
