import type { ReactNode } from 'react';
import { DataTable } from '../app/DataTable.tsx';
import { PhaseBadge } from '../app/PhaseBadge.tsx';
import type { SandboxTabProps } from './tabs.ts';

interface Condition {
  type?: string;
  status?: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
}

/** What the sandbox is and how it is doing: fields and conditions from GET /api/v1/sandboxes/{id}. */
export default function OverviewTab({ sandbox: s }: SandboxTabProps): ReactNode {
  const rows: Array<[string, ReactNode]> = [
    ['Phase', <PhaseBadge key="p" phase={s.phase} reason={s.reason} />],
    ['Reason', s.reason ?? '—'],
    ['Message', s.message || '—'],
    ['Desired state', s.desiredState],
    ['Template', s.templateRef],
    ['Mode', s.mode],
    ['Created', s.createdAt],
    ['Started', s.startedAt ?? '—'],
    ['Last activity', s.lastActivityAt ?? '—'],
    ['Timeout', s.timeout ?? 'template default'],
    ['Idle timeout', s.idleTimeout ?? 'template default'],
    ['Owner', s.createdBy?.email ?? s.createdBy?.sub ?? '—'],
    ['Container', s.podName],
    ['Workspace volume', s.pvcName],
  ];
  const conditions = (s.conditions ?? []) as Condition[];
  return (
    <div className="stack">
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{v}</dd>
          </div>
        ))}
      </dl>
      <h2>Conditions</h2>
      {conditions.length === 0 ? (
        <p className="muted">None reported yet.</p>
      ) : (
        <DataTable columns={['Type', 'Status', 'Reason', 'Message', 'Since']}>
          {conditions.map((c, i) => (
            <tr key={`${c.type ?? ''}-${i}`}>
              <td>{c.type}</td>
              <td>{c.status}</td>
              <td>{c.reason}</td>
              <td>{c.message}</td>
              <td>{c.lastTransitionTime}</td>
            </tr>
          ))}
        </DataTable>
      )}
    </div>
  );
}
