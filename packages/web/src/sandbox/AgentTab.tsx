import type { ConfigureResult, Sandbox } from '@agenttier/sdk';
import { NotFoundError } from '@agenttier/sdk';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useRef, useState } from 'react';
import type { FormEvent, ReactNode } from 'react';
import { prefillConfigureForm } from './agent-prefill.ts';
import type { ConfigureFileRow } from './agent-prefill.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { InvokeRun, type InvokeRunState } from './invoke-run.ts';
import { LogBuffer } from './log-buffer.ts';
import { LogPanel } from './LogPanel.tsx';
import { DataTable } from '../app/DataTable.tsx';
import { Waiting } from './parts/form-parts.tsx';
import { QueryState } from './parts/QueryState.tsx';
import { isRunning, NotRunning } from './NotRunning.tsx';
import { splitArgs } from './split-args.ts';
import type { SandboxTabProps } from './tabs.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';
import { usePolled } from './parts/use-polled.ts';

const POLL_MS = 2000;

/** Agent tab (agent mode): configure files, install command and entrypoint; invoke; run history. */
export default function AgentTab({ sandbox }: SandboxTabProps): ReactNode {
  if (!isRunning(sandbox)) return <NotRunning sandbox={sandbox} what="the agent" />;
  return <Agent sandbox={sandbox} />;
}

function Agent({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  return (
    <div className="stack">
      <Configure sandbox={handle} />
      <Invoke sandbox={handle} ns={sandbox.namespace} />
    </div>
  );
}

/** The configuration as it is now, to fill the form with (once, before the person edits it). */
function useCurrentConfig(sandbox: Sandbox) {
  return useQuery({
    queryKey: ['sbx-agent-config', sandbox.namespace, sandbox.name],
    // No abort signal: leaving the tab mid-way still caches the answer for the next visit.
    queryFn: async () => {
      const config = await sandbox.agent.config();
      const form = await prefillConfigureForm(config, (path) => sandbox.files.read(path));
      return { config, form };
    },
    retry: false,
  });
}

function Configure({ sandbox }: { sandbox: Sandbox }): ReactNode {
  const nextId = useRef(2);
  const [files, setFilesState] = useState<ConfigureFileRow[]>([
    { id: 1, path: '/workspace/agent.py', content: 'import sys\nprint("you said:", sys.stdin.read())\n' },
  ]);
  const [install, setInstallState] = useState('');
  const [entrypoint, setEntrypointState] = useState('python3 /workspace/agent.py');
  // Once the person edits anything, a late answer of the config query must not overwrite it.
  const touched = useRef(false);
  const edit =
    <T,>(set: (v: T) => void) =>
    (v: T): void => {
      touched.current = true;
      set(v);
    };
  const setFiles = edit(setFilesState);
  const setInstall = edit(setInstallState);
  const setEntrypoint = edit(setEntrypointState);
  const current = useCurrentConfig(sandbox);
  const prefill = current.data?.form;
  useEffect(() => {
    if (!prefill || touched.current) return;
    setFilesState(prefill.files);
    setInstallState(prefill.install);
    setEntrypointState(prefill.entrypoint);
    nextId.current = prefill.files.length + 1;
  }, [prefill]);
  const [problem, setProblem] = useState<string | undefined>(undefined);
  const [running, setRunning] = useState(false);
  const [log] = useState(() => new LogBuffer());
  const [logText, setLogText] = useState('');
  const [result, setResult] = useState<ConfigureResult | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const lastLog = useQuery({
    queryKey: ['sbx-install-log', sandbox.namespace, sandbox.name],
    queryFn: async ({ signal }) => {
      try {
        return await sandbox.agent.installLog({ signal });
      } catch (err) {
        if (err instanceof NotFoundError) return '';
        throw err;
      }
    },
    retry: false,
  });

  const submit = async (e: FormEvent): Promise<void> => {
    e.preventDefault();
    let installArgv: string[];
    let entryArgv: string[];
    try {
      installArgv = splitArgs(install);
      entryArgv = splitArgs(entrypoint);
    } catch (err) {
      setProblem(`Command: ${(err as Error).message}.`);
      return;
    }
    if (entryArgv.length === 0) {
      setProblem('Enter the entrypoint: the command each invoke runs, e.g. python3 /workspace/agent.py.');
      return;
    }
    const bad = files.find((f) => !f.path.startsWith('/'));
    if (bad) {
      setProblem(`File paths are absolute, under /workspace: fix “${bad.path || '(empty)'}”.`);
      return;
    }
    setProblem(undefined);
    setError(undefined);
    setResult(undefined);
    log.clear();
    setLogText('');
    setRunning(true);
    try {
      const r = await sandbox.agent.configure({
        files: files.map((f) => ({ path: f.path, content: f.content })),
        ...(installArgv.length > 0 ? { installCommand: installArgv } : {}),
        entrypoint: entryArgv,
        onLog: (line) => {
          log.append(`${line.stream === 'stderr' ? '[stderr] ' : ''}${line.data}\n`);
          setLogText(log.text);
        },
      });
      setResult(r);
    } catch (err) {
      setError(err);
    } finally {
      setRunning(false);
    }
  };

  return (
    <form className="stack sbx-form" onSubmit={(e) => void submit(e)} aria-labelledby="agent-configure-title">
      <h2 id="agent-configure-title">Configure</h2>
      <CurrentConfigNote query={current} />
      <fieldset className="stack">
        <legend>Files written before the install</legend>
        {files.map((f, i) => (
          <div key={f.id} className="stack sbx-file-row">
            <div className="row wrap">
              <label htmlFor={`agent-file-path-${f.id}`}>Path</label>
              <input
                id={`agent-file-path-${f.id}`}
                className="grow"
                value={f.path}
                onChange={(e) =>
                  setFiles(files.map((x) => (x.id === f.id ? { ...x, path: e.target.value } : x)))
                }
              />
              <button
                type="button"
                onClick={() => setFiles(files.filter((x) => x.id !== f.id))}
                aria-label={`Remove file ${i + 1} (${f.path})`}
              >
                Remove
              </button>
            </div>
            <label htmlFor={`agent-file-content-${f.id}`} className="visually-hidden">
              Contents of {f.path || `file ${i + 1}`}
            </label>
            <textarea
              id={`agent-file-content-${f.id}`}
              rows={6}
              spellCheck={false}
              value={f.content}
              onChange={(e) =>
                setFiles(files.map((x) => (x.id === f.id ? { ...x, content: e.target.value } : x)))
              }
            />
          </div>
        ))}
        <div>
          <button
            type="button"
            onClick={() => setFiles([...files, { id: nextId.current++, path: '/workspace/', content: '' }])}
          >
            Add file
          </button>
        </div>
      </fieldset>
      <div className="row wrap">
        <label htmlFor="agent-install">Install command</label>
        <input
          id="agent-install"
          className="grow"
          value={install}
          onChange={(e) => setInstall(e.target.value)}
          placeholder="pip install -r /workspace/requirements.txt (optional)"
        />
      </div>
      <div className="row wrap">
        <label htmlFor="agent-entrypoint">Entrypoint</label>
        <input
          id="agent-entrypoint"
          className="grow"
          value={entrypoint}
          onChange={(e) => setEntrypoint(e.target.value)}
          required
        />
      </div>
      <p className="muted small">
        Commands run as argv without a shell (quote arguments with spaces). The install runs again only when
        the files or the install command changed.
      </p>
      {problem ? (
        <p role="alert" className="sbx-error">
          {problem}
        </p>
      ) : null}
      <div>
        <button type="submit" className="primary" disabled={running}>
          {running ? 'Configuring…' : 'Configure'}
        </button>
      </div>
      {running || logText ? (
        <>
          <p role="status" className="sbx-wait">
            {running ? <span className="sbx-spinner" aria-hidden="true" /> : null}
            {running ? 'Uploading files and running the install…' : 'Install output:'}
          </p>
          <LogPanel text={logText} label="Install output" busy={running} dropped={log.dropped} />
        </>
      ) : null}
      {result ? (
        <p role="status" className={result.installExitCode === 0 ? 'sbx-ok' : 'sbx-error'}>
          {result.skipped
            ? 'Configured: nothing changed, so the install was skipped.'
            : result.installExitCode === 0
              ? 'Configured: the install succeeded.'
              : `The install exited with code ${result.installExitCode}: read its output above, fix the command or files, and configure again.`}
        </p>
      ) : null}
      {error ? <ErrorNote error={error} /> : null}
      {!running && !logText && lastLog.data ? (
        <details>
          <summary>Output of the last install</summary>
          <LogPanel text={lastLog.data} label="Output of the last install" />
        </details>
      ) : null}
    </form>
  );
}

/** Where the form's values came from: the sandbox's current configuration, or the starter values. */
function CurrentConfigNote({ query }: { query: ReturnType<typeof useCurrentConfig> }): ReactNode {
  if (query.isPending) return <Waiting>Reading the current configuration…</Waiting>;
  if (query.isError) return <ErrorNote error={query.error} />;
  const { config, form } = query.data;
  return (
    <div className="stack">
      <p role="status" className="muted small" data-prefill={form ? 'configured' : 'starter'}>
        {form
          ? `Filled in from the configuration of ${new Date(config.lastConfiguredAt ?? '').toLocaleString()}.`
          : 'Not configured yet: the form starts from an example agent.'}
        {config.envNames.length > 0
          ? ` The agent's environment has ${config.envNames.join(', ')} (values are not shown).`
          : ''}
      </p>
      {form?.notes.length ? (
        <ul className="small" aria-label="Files not filled in">
          {form.notes.map((n) => (
            <li key={n}>{n}</li>
          ))}
        </ul>
      ) : null}
    </div>
  );
}

function formatDuration(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
}

function runStatusText(s: InvokeRunState): string {
  switch (s.kind) {
    case 'starting':
      return 'Starting…';
    case 'running':
      return `Running (${s.invokeId})…`;
    case 'finished':
      return s.reason === 'completed'
        ? `Finished: exit code ${s.exitCode} after ${formatDuration(s.durationMs)}.`
        : `Ended: ${s.reason} after ${formatDuration(s.durationMs)}.`;
    case 'failed':
      return `${s.error.message} Next: ${s.error.next}`;
  }
}

function Invoke({ sandbox, ns }: { sandbox: Sandbox; ns: string }): ReactNode {
  const qc = useQueryClient();
  const key = sbxKeys.invokes(ns, sandbox.name);
  const history = usePolled(key, (signal) => sandbox.agent.invokes({ signal, limit: 50 }), POLL_MS);
  const [input, setInput] = useState('');
  const [timeout, setTimeoutText] = useState('');
  const [run, setRun] = useState<InvokeRun | undefined>(undefined);
  const [state, setState] = useState<InvokeRunState | undefined>(undefined);
  const [output, setOutput] = useState('');
  const [cancelError, setCancelError] = useState<unknown>(undefined);

  useEffect(() => {
    if (!run) return;
    setState(run.state);
    setOutput(run.output.text);
    const off = run.subscribe((s) => {
      setState(s);
      setOutput(run.output.text);
      if (s.kind === 'finished') void qc.invalidateQueries({ queryKey: key });
    });
    return () => {
      off();
      run.detach();
    };
  }, [run]);

  const start = (e: FormEvent): void => {
    e.preventDefault();
    setCancelError(undefined);
    setRun(InvokeRun.start(sandbox.agent, { input, ...(timeout.trim() ? { timeout: timeout.trim() } : {}) }));
  };

  const cancel = async (): Promise<void> => {
    setCancelError(undefined);
    try {
      await run?.cancel();
    } catch (err) {
      setCancelError(err);
    }
  };

  const live = state?.kind === 'running' || state?.kind === 'starting';
  return (
    <section className="stack" aria-labelledby="agent-invoke-title">
      <form className="stack sbx-form" onSubmit={start}>
        <h2 id="agent-invoke-title">Invoke</h2>
        <label htmlFor="agent-input">Input (the entrypoint's stdin)</label>
        <textarea id="agent-input" rows={4} value={input} onChange={(e) => setInput(e.target.value)} />
        <div className="row wrap">
          <label htmlFor="agent-timeout">Time limit (optional)</label>
          <input
            id="agent-timeout"
            value={timeout}
            onChange={(e) => setTimeoutText(e.target.value)}
            placeholder="5m"
            size={6}
          />
          <button type="submit" className="primary" disabled={live}>
            {live ? 'Running…' : 'Invoke'}
          </button>
          {live && state?.kind === 'running' ? (
            <button type="button" className="danger" onClick={() => void cancel()}>
              Cancel run
            </button>
          ) : null}
        </div>
      </form>
      {state ? (
        <div className="stack">
          <p
            role="status"
            className={state.kind === 'failed' ? 'sbx-error' : live ? 'sbx-wait' : ''}
            data-run-state={state.kind}
          >
            {live ? <span className="sbx-spinner" aria-hidden="true" /> : null}
            {runStatusText(state)}
          </p>
          {cancelError ? <ErrorNote error={cancelError} /> : null}
          <LogPanel text={output} label="Run output" busy={live} dropped={run?.output.dropped ?? 0} />
        </div>
      ) : null}
      <h2>Run history</h2>
      <QueryState
        query={history}
        loading="Loading runs…"
        isEmpty={(list) => list.length === 0}
        empty="No runs yet: configure the agent, then invoke it."
      >
        {(records) => (
          <DataTable columns={['Run', 'Status', 'Started', 'Duration', 'Exit code', 'Actions']}>
            {records.map((r) => (
              <tr key={r.invokeId} className={r.invokeId === run?.invokeId ? 'selected' : ''}>
                <td>
                  <code className="small">{r.invokeId}</code>
                </td>
                <td>{r.state === 'running' ? 'running' : (r.reason ?? 'finished')}</td>
                <td>{new Date(r.startedAt).toLocaleString()}</td>
                <td>{r.durationMs !== undefined ? formatDuration(r.durationMs) : '—'}</td>
                <td>{r.exitCode ?? '—'}</td>
                <td>
                  <button
                    type="button"
                    onClick={() => setRun(InvokeRun.attach(sandbox.agent, r.invokeId))}
                    aria-label={`${r.state === 'running' ? 'Re-attach to' : 'Output of'} run ${r.invokeId}`}
                  >
                    {r.state === 'running' ? 'Re-attach' : 'Output'}
                  </button>
                </td>
              </tr>
            ))}
          </DataTable>
        )}
      </QueryState>
    </section>
  );
}
