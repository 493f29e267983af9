import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { AuditEvent, AuditLog, Logger } from '@agenttier/core';

export interface AuditEventsMirrorOpts {
  /** Namespaces the router may write Events in (its Roles); others are not mirrored. Absent: any. */
  namespaces?: readonly string[];
  component: string;
  logger: Logger;
  /** Event writes in flight at most; past it events are dropped (counted), never queued. @default 64 */
  maxInFlight?: number;
}

export interface MirroredAuditLog extends AuditLog {
  /** Resolves when every Event write started so far has ended (tests, shutdown). */
  flush(): Promise<void>;
  /** Events not mirrored because too many writes were in flight. */
  readonly dropped: number;
}

const SANDBOX_TARGET = /^sandbox:([a-z0-9][-a-z0-9]*)\/([a-z0-9][-a-z0-9]*)(?::\d+)?$/;

/**
 * The audit trail, plus a core/v1 Event on the Sandbox for every audited call of an authenticated
 * caller that names one (`kubectl describe sandbox` and `kubectl get events` show who did what). The
 * SQLite trail stays the record: an Event write never fails or delays the call, and unauthenticated
 * refusals are not mirrored (a flood of bad keys must not become a flood of API-server writes).
 */
export function mirrorAuditToEvents(
  inner: AuditLog,
  kc: KubeConfig,
  opts: AuditEventsMirrorOpts,
): MirroredAuditLog {
  const api = kc.makeApiClient(CoreV1Api);
  const instance = hostname();
  const allowed = opts.namespaces?.length ? new Set(opts.namespaces) : undefined;
  const maxInFlight = opts.maxInFlight ?? 64;
  const pending = new Set<Promise<unknown>>();
  let dropped = 0;

  const mirror = (e: Omit<AuditEvent, 'id'>) => {
    const m = e.actor ? SANDBOX_TARGET.exec(e.target ?? '') : null;
    if (!m) return;
    const [, namespace, name] = m as unknown as [string, string, string];
    if (allowed && !allowed.has(namespace)) return;
    if (pending.size >= maxInFlight) {
      dropped++;
      return;
    }
    const now = new Date();
    const p = api
      .createNamespacedEvent({
        namespace,
        body: {
          metadata: { name: `${name}.audit-${randomBytes(6).toString('hex')}`, namespace },
          involvedObject: { apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', name, namespace },
          reason: e.status < 400 ? 'Audit' : 'AuditRefused',
          type: e.status < 400 ? 'Normal' : 'Warning',
          message:
            `${e.actor} ${e.action} → ${e.status}${e.keyId ? ` (key ${e.keyId})` : ''}, request ${e.requestId} from ${e.source}`.slice(
              0,
              1024,
            ),
          source: { component: opts.component },
          reportingComponent: opts.component,
          reportingInstance: instance,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      })
      .catch((err: unknown) => opts.logger.warn({ err: String(err) }, 'could not mirror an audit event'));
    pending.add(p);
    void p.finally(() => pending.delete(p));
  };

  return {
    async record(e) {
      await inner.record(e);
      mirror(e);
    },
    query: (q) => inner.query(q),
    async flush() {
      await Promise.allSettled([...pending]);
    },
    get dropped() {
      return dropped;
    },
  };
}
