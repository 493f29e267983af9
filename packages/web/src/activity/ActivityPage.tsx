import type { AuditEventView } from '@agenttier/sdk';
import { NotImplementedError } from './not-implemented.ts';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ReactNode } from 'react';
import { Link } from 'react-router';
import { useClient, useSession } from '../auth/session.tsx';
import { describeError } from '../app/errors.ts';
import { DataTable } from '../app/DataTable.tsx';

const PAGE = 50;

/** The audit trail: every state-changing or refused call, newest first, filterable by actor and target. */
export default function ActivityPage(): ReactNode {
  const { state } = useSession();
  const isAdmin = state.status === 'signed-in' && state.user.isAdmin;
  const [actor, setActor] = useState('');
  const [target, setTarget] = useState('');
  return (
    <section aria-labelledby="activity-title" className="stack">
      <h1 id="activity-title">Activity</h1>
      <p className="muted">
        Every change and every refused call {isAdmin ? 'by anyone' : 'you made'}, newest first. Reads are not
        recorded.
      </p>
      <form className="filters row" role="search" onSubmit={(e) => e.preventDefault()}>
        {isAdmin ? (
          <label>
            Actor
            <input value={actor} onChange={(e) => setActor(e.target.value)} placeholder="user id" />
          </label>
        ) : null}
        <label>
          Target
          <input
            value={target}
            onChange={(e) => setTarget(e.target.value)}
            placeholder="sandbox:default/demo"
          />
        </label>
      </form>
      <AuditTable actor={actor.trim()} target={target.trim()} />
    </section>
  );
}

/** Audit events, paged; `target` narrows to one object (the sandbox page uses it for its own events). */
export function AuditTable({ actor, target }: { actor?: string; target?: string }): ReactNode {
  const client = useClient();
  const q = useInfiniteQuery({
    queryKey: ['audit', actor ?? '', target ?? ''],
    initialPageParam: undefined as number | undefined,
    queryFn: ({ pageParam, signal }) =>
      client.listAuditEvents({
        ...(actor ? { actor } : {}),
        ...(target ? { target } : {}),
        limit: PAGE,
        ...(pageParam !== undefined ? { before: pageParam } : {}),
        signal,
      }),
    getNextPageParam: (last) => last.next,
    refetchInterval: 5000,
  });
  if (q.isPending) return <p role="status">Loading activity…</p>;
  if (q.isError)
    return (
      <p role="alert" className="error">
        {NotImplementedError.is(q.error)
          ? 'This server keeps no audit trail.'
          : `Could not load activity: ${describeError(q.error)}`}
      </p>
    );
  const events: AuditEventView[] = q.data.pages.flatMap((p) => p.events);
  if (events.length === 0)
    return <p className="card">No activity recorded{target ? ` for ${target}` : ''} yet.</p>;
  return (
    <>
      <DataTable
        columns={['When', 'Who', 'Action', 'Target', 'Status', 'Request']}
        caption="Audit events"
        wrapClass="table-wrap"
        className="audit"
      >
        {events.map((e) => (
          <tr key={e.id}>
            <td data-label="When">
              <time dateTime={e.at}>{e.at.replace('T', ' ').replace('Z', '')}</time>
            </td>
            <td data-label="Who">{e.actor ?? <span className="muted">unauthenticated ({e.source})</span>}</td>
            <td data-label="Action">
              <code>{e.action}</code>
            </td>
            <td data-label="Target">{targetLink(e.target)}</td>
            <td data-label="Status" className={e.status >= 400 ? 'error' : ''}>
              {e.status}
            </td>
            <td data-label="Request">
              <code className="small">{e.requestId}</code>
            </td>
          </tr>
        ))}
      </DataTable>
      {q.hasNextPage ? (
        <button type="button" onClick={() => void q.fetchNextPage()} disabled={q.isFetchingNextPage}>
          {q.isFetchingNextPage ? 'Loading…' : 'Older events'}
        </button>
      ) : null}
    </>
  );
}

function targetLink(target: string | undefined): ReactNode {
  if (!target) return '—';
  const m = /^sandbox:([^/]+)\/(.+)$/.exec(target);
  if (m)
    return <Link to={`/sandboxes/${encodeURIComponent(m[1]!)}/${encodeURIComponent(m[2]!)}`}>{target}</Link>;
  const t = /^template:(.+)$/.exec(target);
  if (t) return <Link to={`/templates/${encodeURIComponent(t[1]!)}`}>{target}</Link>;
  return target;
}
