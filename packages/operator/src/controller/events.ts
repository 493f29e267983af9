import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { CoreV1Api } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import type { Logger, SandboxEventInput } from '@agenttier/core';

/** What the recorder writes: core's event of a phase change or a back-off (sandbox-events.ts). */
export type TransitionEvent = SandboxEventInput;

export interface EventRecorder {
  record(sandbox: Sandbox, event: TransitionEvent): void;
  /** Resolves when every event written so far has been sent (tests). */
  flush(): Promise<void>;
}

/** Writes core/v1 Events about Sandboxes; never blocks or fails a reconcile. */
export function createEventRecorder(
  kc: KubeConfig,
  opts: { component: string; instance: string; logger: Logger },
): EventRecorder {
  const api = kc.makeApiClient(CoreV1Api);
  const pending = new Set<Promise<unknown>>();
  return {
    record(sandbox, event) {
      const namespace = sandbox.metadata.namespace ?? 'default';
      const now = new Date();
      const p = api
        .createNamespacedEvent({
          namespace,
          body: {
            metadata: { name: `${sandbox.metadata.name}.${randomBytes(8).toString('hex')}`, namespace },
            involvedObject: {
              apiVersion: sandbox.apiVersion,
              kind: 'Sandbox',
              name: sandbox.metadata.name,
              namespace,
              ...(sandbox.metadata.uid ? { uid: sandbox.metadata.uid } : {}),
              ...(sandbox.metadata.resourceVersion
                ? { resourceVersion: sandbox.metadata.resourceVersion }
                : {}),
            },
            reason: event.reason,
            message: event.message.slice(0, 1024),
            type: event.type,
            source: { component: opts.component },
            reportingComponent: opts.component,
            reportingInstance: opts.instance,
            firstTimestamp: now,
            lastTimestamp: now,
            count: 1,
          },
        })
        .catch((err: unknown) =>
          opts.logger.warn({ err: String(err), reason: event.reason }, 'could not record event'),
        );
      pending.add(p);
      void p.finally(() => pending.delete(p));
    },
    async flush() {
      await Promise.allSettled([...pending]);
    },
  };
}
