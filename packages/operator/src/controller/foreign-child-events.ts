import type { Sandbox } from '@agenttier/contract';
import type { Runtime } from '@agenttier/core';
import { ForeignChildError } from '@agenttier/platform-kubernetes';
import type { EventRecorder } from './events.ts';

export interface ForeignChildEventsOpts {
  /** At most one Event per sandbox and blocking object in this window: the reconciler retries with backoff. @default 60000 */
  intervalMs?: number;
  now?: () => number;
}

/**
 * The runtime the controller reconciles through, with "an object this sandbox does not own holds one
 * of its child names" (someone's own Pod, claim, ServiceAccount, Secret or NetworkPolicy called
 * `<sandbox>-pod`, `<sandbox>-workspace`, …) also recorded as a Warning `ChildNameTaken` Event on the
 * Sandbox, beside the status message: `kubectl describe sandbox` and `kubectl get events` show it,
 * and alerting on Warning Events catches it. The call still fails and the reconciler keeps waiting for
 * the name as before; the foreign object is never touched.
 */
export function withForeignChildEvents<R extends Runtime>(
  runtime: R,
  events: EventRecorder,
  opts: ForeignChildEventsOpts = {},
): R {
  const intervalMs = opts.intervalMs ?? 60_000;
  const now = opts.now ?? Date.now;
  const last = new Map<string, number>();
  const mirror = (sandbox: Sandbox, err: unknown) => {
    if (!(err instanceof ForeignChildError)) return;
    const key = `${sandbox.metadata.uid ?? `${sandbox.metadata.namespace}/${sandbox.metadata.name}`} ${err.childKind}/${err.childName}`;
    const t = now();
    const at = last.get(key);
    if (at !== undefined && t - at < intervalMs) return;
    last.set(key, t);
    // Bounded: forget entries older than a window (sandboxes deleted or unblocked, mostly).
    if (last.size > 10_000) {
      for (const [k, v] of last) if (t - v >= intervalMs) last.delete(k);
    }
    events.record(sandbox, { reason: 'ChildNameTaken', type: 'Warning', message: err.message });
  };
  const wrap =
    (method: 'ensureVolume' | 'ensureWorkload') =>
    async (...args: Parameters<Runtime['ensureVolume']>) => {
      try {
        return await runtime[method](...args);
      } catch (err) {
        mirror(args[0], err);
        throw err;
      }
    };
  const ensureVolume = wrap('ensureVolume');
  const ensureWorkload = wrap('ensureWorkload');
  return new Proxy(runtime, {
    get(target, prop) {
      if (prop === 'ensureVolume') return ensureVolume;
      if (prop === 'ensureWorkload') return ensureWorkload;
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
