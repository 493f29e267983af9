import type { CoreV1Event, KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Sandbox, SandboxEvent } from '@agenttier/contract';
import { API_GROUP, MAX_EVENT_MESSAGE_CHARS, PlatformError } from '@agenttier/contract';
import type { Logger, SandboxEventFeed } from '@agenttier/core';
import { mergeRepeats } from '@agenttier/core';

/** The audit mirror's reasons (audit-events.ts): the audit trail has its own route and screen. */
const AUDIT_REASONS = new Set(['Audit', 'AuditRefused']);
/** Entries answered at most (the newest), after repeats are merged. */
const MAX_ENTRIES = 100;

/** RFC 3339 with whole seconds, as every time of the API. */
function iso(t: Date | string | undefined): string | undefined {
  if (t === undefined) return undefined;
  const ms = typeof t === 'string' ? Date.parse(t) : t.getTime();
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** One core/v1 Event as an entry of the feed (either shape of the timestamps: old recorders or new). */
export function feedEntryOf(e: CoreV1Event): SandboxEvent {
  const first =
    iso(e.firstTimestamp) ??
    iso(e.eventTime as Date | string | undefined) ??
    iso(e.metadata.creationTimestamp);
  const last = iso(e.lastTimestamp) ?? iso(e.series?.lastObservedTime as Date | string | undefined) ?? first;
  const message = e.message ?? '';
  const source = e.reportingComponent || e.source?.component;
  return {
    type: e.type === 'Warning' ? 'Warning' : 'Normal',
    reason: e.reason ?? '',
    message:
      message.length > MAX_EVENT_MESSAGE_CHARS
        ? `${message.slice(0, MAX_EVENT_MESSAGE_CHARS - 1)}…`
        : message,
    count: Math.max(1, e.count ?? e.series?.count ?? 1),
    firstTimestamp: first ?? '1970-01-01T00:00:00Z',
    lastTimestamp: last ?? first ?? '1970-01-01T00:00:00Z',
    ...(source ? { source } : {}),
  };
}

function revisionOf(e: CoreV1Event): bigint {
  const rv = e.metadata.resourceVersion ?? '';
  return /^\d{1,30}$/.test(rv) ? BigInt(rv) : 0n;
}

/**
 * The events feed on Kubernetes: the core/v1 Events whose involvedObject is this Sandbox (this uid:
 * an earlier sandbox of the same name had another), written by the controller (phase changes, child
 * steps, back-offs, conflicts), without the audit mirror; oldest first, repeats merged. The router
 * lists them when asked (RBAC: `list events` in the sandbox namespaces); nothing is cached.
 */
export function kubeSandboxEvents(kc: KubeConfig, logger: Logger): SandboxEventFeed {
  const api = kc.makeApiClient(CoreV1Api);
  return {
    async list(sb: Sandbox): Promise<SandboxEvent[]> {
      const namespace = sb.metadata.namespace ?? 'default';
      let items: CoreV1Event[];
      try {
        items = (
          await api.listNamespacedEvent({
            namespace,
            fieldSelector: `involvedObject.kind=Sandbox,involvedObject.name=${sb.metadata.name}`,
          })
        ).items;
      } catch (err) {
        logger.warn(
          { err: String(err), sandbox: `${namespace}/${sb.metadata.name}` },
          'listing events failed',
        );
        throw new PlatformError(
          'UNAVAILABLE',
          'the Kubernetes API server did not list the events of this sandbox; try again (the router needs "list events" in the namespace)',
          { cause: err },
        );
      }
      const uid = sb.metadata.uid;
      const mine = items.filter(
        (e) =>
          (e.involvedObject.apiVersion ?? API_GROUP).startsWith(API_GROUP) &&
          (!uid || !e.involvedObject.uid || e.involvedObject.uid === uid) &&
          !AUDIT_REASONS.has(e.reason ?? ''),
      );
      // Times have whole seconds: within one, the order of writing (resourceVersion, an etcd revision
      // on a real server) decides, not the random names the list is sorted by.
      const entries = mine
        .map((e) => ({ entry: feedEntryOf(e), rv: revisionOf(e) }))
        .sort((a, b) =>
          a.entry.firstTimestamp !== b.entry.firstTimestamp
            ? a.entry.firstTimestamp < b.entry.firstTimestamp
              ? -1
              : 1
            : a.rv < b.rv
              ? -1
              : a.rv > b.rv
                ? 1
                : 0,
        )
        .map((x) => x.entry);
      return mergeRepeats(entries).slice(-MAX_ENTRIES);
    },
  };
}
