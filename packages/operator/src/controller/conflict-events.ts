import type { Resource, Sandbox } from '@agenttier/contract';
import { isPlatformError } from '@agenttier/contract';
import type { Store } from '@agenttier/core';
import type { EventRecorder } from './events.ts';

export interface ConflictEventsOpts {
  /** At most one Event per sandbox in this window: conflicts come in bursts while someone edits. @default 60000 */
  intervalMs?: number;
  now?: () => number;
}

/**
 * The Store the controller reconciles through, with its optimistic-concurrency conflicts on a Sandbox
 * (409: someone — `kubectl edit`, the router, another writer — changed it between the controller's
 * read and its write) mirrored as a Normal `UpdateConflict` Event on that Sandbox, where a user looks
 * (`kubectl describe sandbox`, `kubectl get events`). The write still fails and the reconciler re-reads
 * and retries as before; the Event only says why a change took a second pass.
 */
export function withConflictEvents<S extends Store>(
  store: S,
  events: EventRecorder,
  opts: ConflictEventsOpts = {},
): S {
  const intervalMs = opts.intervalMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const lastByUid = new Map<string, number>();
  const mirror = (obj: Resource, what: 'spec' | 'status', err: unknown) => {
    if (obj.kind !== 'Sandbox' || !isPlatformError(err) || err.code !== 'CONFLICT') return;
    const key = obj.metadata.uid ?? `${obj.metadata.namespace}/${obj.metadata.name}`;
    const t = now();
    const last = lastByUid.get(key);
    if (last !== undefined && t - last < intervalMs) return;
    lastByUid.set(key, t);
    // Bounded: forget sandboxes not seen for a window (deleted ones, mostly).
    if (lastByUid.size > 10_000) {
      for (const [k, v] of lastByUid) if (t - v >= intervalMs) lastByUid.delete(k);
    }
    events.record(obj as unknown as Sandbox, {
      reason: 'UpdateConflict',
      type: 'Normal',
      message:
        `The Sandbox changed while the controller was writing its ${what} ` +
        `(it had read resourceVersion ${obj.metadata.resourceVersion ?? 'unknown'}); ` +
        'the controller read it again and retried',
    });
  };
  const wrap =
    (write: 'update' | 'updateStatus') =>
    async <T extends Resource>(obj: T): Promise<T> => {
      try {
        return await store[write](obj);
      } catch (err) {
        mirror(obj, write === 'update' ? 'spec' : 'status', err);
        throw err;
      }
    };
  const update = wrap('update');
  const updateStatus = wrap('updateStatus');
  return new Proxy(store, {
    get(target, prop) {
      if (prop === 'update') return update;
      if (prop === 'updateStatus') return updateStatus;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
