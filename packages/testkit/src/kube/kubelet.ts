// Pods never run in the fake. This stands in for the scheduler and kubelet so that operator tests
// can drive a Pod through Pending → Running/Ready → Succeeded/Failed, through the same write path
// (the status subresource, field manager "kubelet") so that watches and informers see it.
import { clone, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { Registry } from './registry.ts';
import { internalOptions } from './rest.ts';
import type { Rest } from './rest.ts';
import { errors } from './status.ts';
import { nowRfc3339 } from './time.ts';

export type PodPhase = 'Pending' | 'Running' | 'Succeeded' | 'Failed' | 'Unknown';

export interface PodStatusUpdate {
  phase?: PodPhase;
  /** Ready condition and every container's ready flag. @default true when Running */
  ready?: boolean;
  /** @default an address from 10.244.0.0/16 once Running */
  podIP?: string;
  /** Bound node (written as the scheduler's binding). @default "fake-node" */
  nodeName?: string;
  reason?: string;
  message?: string;
  /** Exit code of every container when the phase is Succeeded/Failed. @default 0 / 1 */
  exitCode?: number;
  /** Replaces the computed conditions. */
  conditions?: JsonObject[];
}

export class FakeKubelet {
  private nextIp = 2;
  /** Nodes this kubelet runs: pods bound to others are never terminated by it. */
  private readonly nodes = new Set<string>(['fake-node']);
  private held = false;
  private stopped = false;
  private timer: NodeJS.Timeout | undefined;
  private readonly delayMs: number;

  constructor(
    private readonly rest: Rest,
    private readonly registry: Registry,
    opts: { delayMs?: number } = {},
  ) {
    this.delayMs = opts.delayMs ?? 5;
  }

  /** Reacts to a write after a short delay (called by the fake after every write). */
  schedule(): void {
    if (this.held || this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.terminatePods();
    }, this.delayMs);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  private podType() {
    const t = this.registry.get('', 'pods');
    if (!t) throw new Error('pods are not served');
    return t;
  }

  /** Writes a pod's status as the kubelet would; returns the updated pod. */
  setPodStatus(namespace: string, name: string, u: PodStatusUpdate): JsonObject {
    const t = this.podType();
    let pod = this.rest.getStored(t, namespace, name);
    if (!pod) throw errors.notFound({ group: '', resource: 'pods' }, name);
    if (!str(getIn(pod, ['spec', 'nodeName']))) {
      // The scheduler's binding: spec.nodeName is not writable through pod updates.
      const bound = clone(pod);
      (bound.spec as JsonObject).nodeName = u.nodeName ?? 'fake-node';
      this.nodes.add(u.nodeName ?? 'fake-node');
      this.rest.storage.put(t.storageKey, bound);
      pod = bound;
    }
    const now = nowRfc3339();
    const old = objectOrEmpty(pod.status);
    const phase = u.phase ?? (str(old.phase) as PodPhase | undefined) ?? 'Pending';
    const running = phase === 'Running';
    const done = phase === 'Succeeded' || phase === 'Failed';
    const ready = u.ready ?? running;
    const status: JsonObject = { ...clone(old), phase };
    if (running || done) {
      status.podIP =
        u.podIP ?? str(old.podIP) ?? `10.244.${Math.floor(this.nextIp / 250)}.${this.nextIp++ % 250}`;
      status.podIPs = [{ ip: status.podIP }];
      status.hostIP = '10.0.0.1';
      status.startTime ??= now;
    } else if (u.podIP) {
      status.podIP = u.podIP;
    }
    if (u.reason !== undefined) status.reason = u.reason;
    if (u.message !== undefined) status.message = u.message;
    const cond = (type: string, ok: boolean, reason?: string): JsonObject => ({
      type,
      status: ok ? 'True' : 'False',
      lastProbeTime: null,
      lastTransitionTime: now,
      ...(reason ? { reason } : {}),
    });
    status.conditions = u.conditions ?? [
      cond('Initialized', running || done),
      cond('Ready', ready, ready ? undefined : done ? 'PodCompleted' : 'ContainersNotReady'),
      cond('ContainersReady', ready, ready ? undefined : done ? 'PodCompleted' : 'ContainersNotReady'),
      cond('PodScheduled', true),
    ];
    const containers = getIn(pod, ['spec', 'containers']);
    status.containerStatuses = (Array.isArray(containers) ? containers.filter(isObject) : []).map(
      (c): Json => {
        const state: JsonObject = running
          ? { running: { startedAt: now } }
          : done
            ? {
                terminated: {
                  exitCode: u.exitCode ?? (phase === 'Succeeded' ? 0 : 1),
                  reason: phase === 'Succeeded' ? 'Completed' : 'Error',
                  startedAt: str(status.startTime) ?? now,
                  finishedAt: now,
                },
              }
            : { waiting: { reason: 'ContainerCreating' } };
        return {
          name: c.name ?? null,
          image: c.image ?? null,
          imageID: '',
          ready: ready && running,
          started: running,
          restartCount: 0,
          state,
        };
      },
    );
    const next = clone(pod);
    next.status = status;
    this.rest.commitUpdate(
      { type: t, version: 'v1', namespace, name, subresource: 'status' },
      pod,
      next,
      internalOptions('kubelet'),
    );
    return this.rest.getStored(t, namespace, name) ?? next;
  }

  /**
   * Keeps terminating pods in their Terminating state (deletionTimestamp set, still readable) until
   * `releaseTerminations()`, e.g. to observe what a controller does meanwhile.
   */
  holdTerminations(): void {
    this.held = true;
  }

  releaseTerminations(): void {
    this.held = false;
    this.terminatePods();
  }

  /**
   * What a kubelet does for a pod with a deletionTimestamp: stop its containers (at once here) and
   * delete it with grace period 0. Only pods on this kubelet's nodes (`fake-node` and any node given
   * to setPodStatus); a pod bound to another node waits, as it would for a node that is down.
   * Runs shortly after every write (not held by pauseControllers: the kubelet is not a controller).
   */
  terminatePods(): void {
    if (this.held) return;
    const t = this.podType();
    for (const pod of this.rest.storage.list(t.storageKey)) {
      const m = objectOrEmpty(pod.metadata);
      if (!m.deletionTimestamp || Number(m.deletionGracePeriodSeconds ?? 0) <= 0) continue;
      if (!this.nodes.has(str(getIn(pod, ['spec', 'nodeName'])) ?? '')) continue;
      this.rest.delete(
        { type: t, version: 'v1', namespace: str(m.namespace), name: str(m.name) },
        { gracePeriodSeconds: 0 },
        internalOptions('kubelet'),
      );
    }
  }

  /** Running with all containers ready (the common "pod came up" step). */
  markRunning(namespace: string, name: string, opts: { podIP?: string; ready?: boolean } = {}): JsonObject {
    return this.setPodStatus(namespace, name, {
      phase: 'Running',
      ready: opts.ready ?? true,
      podIP: opts.podIP,
    });
  }

  markSucceeded(namespace: string, name: string): JsonObject {
    return this.setPodStatus(namespace, name, { phase: 'Succeeded', ready: false });
  }

  markFailed(
    namespace: string,
    name: string,
    opts: { reason?: string; message?: string; exitCode?: number } = {},
  ): JsonObject {
    return this.setPodStatus(namespace, name, { phase: 'Failed', ready: false, ...opts });
  }
}
