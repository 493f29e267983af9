import type { SandboxEvent } from '@agenttier/sdk';
import type { ReactNode } from 'react';
import { EVENTS_POLL_MS, useSandboxEvents } from '../api/observability.ts';
import { ago } from '../app/time.ts';
import { useNow } from '../app/use-now.ts';
import { ErrorNote } from './ErrorNote.tsx';
import type { SandboxTabProps } from './tabs.ts';
import './events-tab.css';

/**
 * What happened to the sandbox, Kubernetes-style (phase changes, its workload and volume, back-offs),
 * newest first, re-read every two seconds. The audit trail of calls is the Activity tab.
 */
export default function EventsTab({ sandbox }: SandboxTabProps): ReactNode {
  const q = useSandboxEvents(sandbox.namespace, sandbox.name);
  const now = useNow();
  if (q.isPending) return <p role="status">Loading events…</p>;
  if (q.isError) return <ErrorNote error={q.error} />;
  const events: SandboxEvent[] = [...q.data].reverse();
  return (
    <section className="stack" aria-labelledby="events-title">
      <h2 id="events-title" className="visually-hidden">
        Events
      </h2>
      <p className="muted small">
        What the platform did with this sandbox, newest first; repeats are counted. Updated every{' '}
        {EVENTS_POLL_MS / 1000} seconds. Calls made to it are under Activity.
      </p>
      {events.length === 0 ? (
        <p className="card">No events yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="events" data-events={events.length}>
            <caption className="visually-hidden">Events of {sandbox.name}</caption>
            <thead>
              <tr>
                <th scope="col">Type</th>
                <th scope="col">Reason</th>
                <th scope="col">Message</th>
                <th scope="col">Count</th>
                <th scope="col">Last seen</th>
                <th scope="col">First seen</th>
              </tr>
            </thead>
            <tbody>
              {events.map((e) => (
                <tr key={`${e.firstTimestamp}-${e.reason}-${e.message}`} data-reason={e.reason}>
                  <td data-label="Type" className={e.type === 'Warning' ? 'error' : ''}>
                    {e.type}
                  </td>
                  <td data-label="Reason">
                    <strong>{e.reason}</strong>
                  </td>
                  <td data-label="Message" className="pre-line">
                    {e.message}
                  </td>
                  <td data-label="Count">{e.count}</td>
                  <td data-label="Last seen">
                    <time dateTime={e.lastTimestamp} title={e.lastTimestamp}>
                      {ago(e.lastTimestamp, now)} ago
                    </time>
                  </td>
                  <td data-label="First seen">
                    <time dateTime={e.firstTimestamp} title={e.firstTimestamp}>
                      {ago(e.firstTimestamp, now)} ago
                    </time>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
