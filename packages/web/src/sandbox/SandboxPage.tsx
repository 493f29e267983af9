import { NotFoundError } from '@agenttier/sdk';
import { Suspense } from 'react';
import type { ReactNode } from 'react';
import { Link, NavLink, useParams } from 'react-router';
import { useSandbox } from '../api/queries.ts';
import { describeError } from '../app/errors.ts';
import { PhaseBadge } from '../app/PhaseBadge.tsx';
import { SANDBOX_TABS } from './tabs.ts';

/** /sandboxes/:namespace/:name/:tab — the sandbox's header and its tabs (tabs.ts). */
export default function SandboxPage(): ReactNode {
  const params = useParams();
  const namespace = params.namespace ?? 'default';
  const name = params.name ?? '';
  const tabId = (params['*'] ?? '').split('/')[0] || 'overview';
  const q = useSandbox(namespace, name);

  if (q.isPending)
    return (
      <p role="status" className="muted">
        Loading {name}…
      </p>
    );
  if (q.isError)
    return (
      <section>
        <h1>{name}</h1>
        <p role="alert" className="error">
          {q.error instanceof NotFoundError
            ? `Sandbox ${namespace}/${name} does not exist (or is not yours). It may have been deleted.`
            : describeError(q.error)}
        </p>
        <Link to="/">Back to the dashboard</Link>
      </section>
    );

  const sandbox = q.data;
  const tabs = SANDBOX_TABS.filter((t) => t.visible?.(sandbox) ?? true);
  const tab = tabs.find((t) => t.id === tabId);
  const base = `/sandboxes/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
  return (
    <section aria-labelledby="sandbox-title">
      <p className="muted small">
        <Link to="/">Sandboxes</Link> / {namespace}
      </p>
      <div className="row spread">
        <h1 id="sandbox-title">{name}</h1>
        <PhaseBadge phase={sandbox.phase} reason={sandbox.reason} />
      </div>
      <nav aria-label="Sandbox sections" className="tabs">
        <ul>
          {tabs.map((t) => (
            <li key={t.id}>
              <NavLink
                to={t.id === 'overview' ? base : `${base}/${t.id}`}
                end
                className={({ isActive }) => (isActive || t.id === tab?.id ? 'active' : '')}
                aria-current={t.id === tab?.id ? 'page' : undefined}
              >
                {t.label}
              </NavLink>
            </li>
          ))}
        </ul>
      </nav>
      <div className="tab-panel">
        {tab ? (
          <Suspense
            fallback={
              <p role="status" className="muted">
                Loading {tab.label.toLowerCase()}…
              </p>
            }
          >
            <tab.component sandbox={sandbox} />
          </Suspense>
        ) : (
          <p role="alert">
            This sandbox has no “{tabId}” section. <Link to={base}>Open its overview</Link>.
          </p>
        )}
      </div>
    </section>
  );
}
