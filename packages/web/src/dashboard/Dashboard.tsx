import type { SandboxView } from '@agenttier/sdk';
import { useEffect, useMemo, useState } from 'react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import type { SandboxAction } from '../api/queries.ts';
import { useSandboxAction, useSandboxes } from '../api/queries.ts';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { describeError } from '../app/errors.ts';
import { PhaseBadge } from '../app/PhaseBadge.tsx';
import { ago } from '../app/time.ts';
import { useNow } from '../app/use-now.ts';
import { distinct, filterSandboxes, keyOf, NO_FILTER } from './filter.ts';
import { UsageBars } from './UsageBars.tsx';
import type { SandboxFilter } from './filter.ts';

/** Every sandbox the user may see, live, with filters, per-row and bulk actions. */
export function Dashboard(): ReactNode {
  const list = useSandboxes();
  const act = useSandboxAction();
  const [filter, setFilter] = useState<SandboxFilter>(NO_FILTER);
  const [selected, setSelected] = useState<Set<string>>(new Set());
  const [confirmDelete, setConfirmDelete] = useState<SandboxView[] | undefined>(undefined);
  const [message, setMessage] = useState<{ kind: 'error' | 'info'; text: string } | undefined>();
  const now = useNow();

  const all = useMemo(() => list.data ?? [], [list.data]);
  const shown = useMemo(() => filterSandboxes(all, filter), [all, filter]);
  // Forget selections of sandboxes that are gone (deleted here or elsewhere).
  useEffect(() => {
    setSelected((sel) => {
      const present = new Set(all.map(keyOf));
      const next = new Set([...sel].filter((k) => present.has(k)));
      return next.size === sel.size ? sel : next;
    });
  }, [all]);

  const run = async (action: SandboxAction, targets: SandboxView[]): Promise<void> => {
    setMessage(undefined);
    const failures: string[] = [];
    for (const sandbox of targets) {
      try {
        await act.mutateAsync({ action, sandbox });
      } catch (err) {
        failures.push(`${sandbox.name}: ${describeError(err)}`);
      }
    }
    if (failures.length) setMessage({ kind: 'error', text: failures.join('\n') });
    else
      setMessage({
        kind: 'info',
        text: `${verb(action)} ${targets.length === 1 ? targets[0]!.name : `${targets.length} sandboxes`}.`,
      });
  };

  const selectedViews = shown.filter((s) => selected.has(keyOf(s)));
  const toggle = (k: string): void =>
    setSelected((sel) => {
      const next = new Set(sel);
      if (next.has(k)) next.delete(k);
      else next.add(k);
      return next;
    });
  const allShownSelected = shown.length > 0 && shown.every((s) => selected.has(keyOf(s)));

  return (
    <section aria-labelledby="dash-title">
      <div className="row spread">
        <h1 id="dash-title">Sandboxes</h1>
        <Link className="button primary" to="/new">
          New sandbox
        </Link>
      </div>

      {list.isError ? (
        <p role="alert" className="error">
          Could not load sandboxes: {describeError(list.error)}. The list retries every second.
        </p>
      ) : null}

      {list.isPending ? (
        <p role="status" className="muted">
          Loading sandboxes…
        </p>
      ) : all.length === 0 ? (
        <EmptyState />
      ) : (
        <>
          <Filters all={all} filter={filter} onChange={setFilter} />
          <div className="row bulk" role="toolbar" aria-label="Actions on selected sandboxes">
            <span aria-live="polite">{selectedViews.length} selected</span>
            <button
              type="button"
              disabled={selectedViews.length === 0}
              onClick={() => void run('stop', selectedViews)}
            >
              Stop selected
            </button>
            <button
              type="button"
              disabled={selectedViews.length === 0}
              onClick={() => void run('resume', selectedViews)}
            >
              Resume selected
            </button>
            <button
              type="button"
              className="danger"
              disabled={selectedViews.length === 0}
              onClick={() => setConfirmDelete(selectedViews)}
            >
              Delete selected
            </button>
          </div>
          {message ? (
            <p role={message.kind === 'error' ? 'alert' : 'status'} className={`${message.kind} pre-line`}>
              {message.text}
            </p>
          ) : null}
          <div className="table-wrap">
            <table className="sandboxes">
              <caption className="visually-hidden">
                Sandboxes ({shown.length} of {all.length} shown), refreshed every second
              </caption>
              <thead>
                <tr>
                  <th scope="col">
                    <input
                      type="checkbox"
                      aria-label="Select all shown sandboxes"
                      checked={allShownSelected}
                      onChange={() => setSelected(allShownSelected ? new Set() : new Set(shown.map(keyOf)))}
                    />
                  </th>
                  <th scope="col">Name</th>
                  <th scope="col">Phase</th>
                  <th scope="col">Resources</th>
                  <th scope="col">Template</th>
                  <th scope="col">Namespace</th>
                  <th scope="col">Age</th>
                  <th scope="col">Last activity</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {shown.map((s) => (
                  <tr key={keyOf(s)} data-sandbox={s.name} data-phase={s.phase}>
                    <td>
                      <input
                        type="checkbox"
                        aria-label={`Select ${s.name}`}
                        checked={selected.has(keyOf(s))}
                        onChange={() => toggle(keyOf(s))}
                      />
                    </td>
                    <td data-label="Name">
                      <Link
                        to={`/sandboxes/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}`}
                      >
                        {s.name}
                      </Link>
                      {s.message ? <div className="muted small">{s.message}</div> : null}
                    </td>
                    <td data-label="Phase">
                      <PhaseBadge phase={s.phase} reason={s.reason} />
                    </td>
                    <td data-label="Resources">
                      <UsageBars sandbox={s} />
                    </td>
                    <td data-label="Template">{s.templateRef}</td>
                    <td data-label="Namespace">{s.namespace}</td>
                    <td data-label="Age">
                      <time dateTime={s.createdAt} title={s.createdAt}>
                        {ago(s.createdAt, now)}
                      </time>
                    </td>
                    <td data-label="Last activity">
                      {s.lastActivityAt ? (
                        <time dateTime={s.lastActivityAt} title={s.lastActivityAt}>
                          {ago(s.lastActivityAt, now)} ago
                        </time>
                      ) : (
                        '—'
                      )}
                    </td>
                    <td data-label="Actions" className="actions">
                      <Link
                        className="button"
                        aria-label={`Terminal of ${s.name}`}
                        to={`/sandboxes/${encodeURIComponent(s.namespace)}/${encodeURIComponent(s.name)}/terminal`}
                        aria-disabled={s.phase !== 'Running'}
                      >
                        Terminal
                      </Link>
                      {s.desiredState === 'Stopped' || s.phase === 'Error' ? (
                        <button
                          type="button"
                          aria-label={`Resume ${s.name}`}
                          disabled={s.phase === 'Deleting'}
                          onClick={() => void run('resume', [s])}
                        >
                          Resume
                        </button>
                      ) : (
                        <button
                          type="button"
                          aria-label={`Stop ${s.name}`}
                          disabled={s.phase === 'Deleting' || s.phase === 'Stopped'}
                          onClick={() => void run('stop', [s])}
                        >
                          Stop
                        </button>
                      )}
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete ${s.name}`}
                        disabled={s.phase === 'Deleting'}
                        onClick={() => setConfirmDelete([s])}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          {shown.length === 0 ? <p className="muted">No sandbox matches these filters.</p> : null}
        </>
      )}

      <ConfirmDialog
        open={confirmDelete !== undefined}
        title={
          confirmDelete?.length === 1
            ? `Delete ${confirmDelete[0]!.name}?`
            : `Delete ${confirmDelete?.length ?? 0} sandboxes?`
        }
        confirmLabel="Delete"
        danger
        onCancel={() => setConfirmDelete(undefined)}
        onConfirm={() => {
          const targets = confirmDelete ?? [];
          setConfirmDelete(undefined);
          void run('delete', targets);
        }}
      >
        <p>The container and the workspace volume are removed. Files in the workspace cannot be recovered.</p>
        <ul>
          {confirmDelete?.map((s) => (
            <li key={keyOf(s)}>
              {s.namespace}/{s.name}
            </li>
          ))}
        </ul>
      </ConfirmDialog>
    </section>
  );
}

function verb(a: SandboxAction): string {
  return a === 'stop' ? 'Stopping' : a === 'resume' ? 'Resuming' : 'Deleting';
}

function Filters(props: {
  all: SandboxView[];
  filter: SandboxFilter;
  onChange: (f: SandboxFilter) => void;
}): ReactNode {
  const { all, filter, onChange } = props;
  const select = (field: 'phase' | 'template' | 'namespace', label: string, values: string[]): ReactNode => (
    <label>
      {label}
      <select value={filter[field]} onChange={(e) => onChange({ ...filter, [field]: e.target.value })}>
        <option value="">Any</option>
        {values.map((v) => (
          <option key={v} value={v}>
            {v}
          </option>
        ))}
      </select>
    </label>
  );
  return (
    <form className="filters row" role="search" onSubmit={(e) => e.preventDefault()}>
      <label>
        Search
        <input
          type="search"
          value={filter.search}
          placeholder="name, template, owner"
          onChange={(e) => onChange({ ...filter, search: e.target.value })}
        />
      </label>
      {select('phase', 'Phase', distinct(all, 'phase'))}
      {select('template', 'Template', distinct(all, 'templateRef'))}
      {select('namespace', 'Namespace', distinct(all, 'namespace'))}
    </form>
  );
}

function EmptyState(): ReactNode {
  return (
    <div className="card empty">
      <h2>No sandboxes yet</h2>
      <p>
        A sandbox is an isolated machine with a persistent <code>/workspace</code>. Start one from a template:
        it is running in a few seconds, and you can open a terminal in it from here.
      </p>
      <p>
        <Link className="button primary" to="/new">
          Create your first sandbox
        </Link>
      </p>
      <p className="muted">
        From a shell: <code>agenttier sandbox create demo --template general-coding --wait</code> — it shows
        up here by itself.
      </p>
    </div>
  );
}
