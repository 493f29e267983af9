import type { Sandbox } from '@agenttier/contract';
import type { ObservedWorkload } from '@agenttier/core';
import type { V1ContainerStatus, V1Pod } from '@kubernetes/client-node';
import { ownedBy } from './children.ts';
import { SANDBOX_CONTAINER } from './pod-builder.ts';

/** An init container that ended badly: the pod can never start, and why. */
export function failedInit(pod: V1Pod): { container: string; message: string } | undefined {
  for (const s of pod.status?.initContainerStatuses ?? []) {
    const t = s.state?.terminated;
    if (t && t.exitCode !== 0) {
      const detail = (t.message ?? '').trim() || t.reason || `exit code ${t.exitCode}`;
      return { container: s.name, message: `init container ${s.name} failed: ${detail}` };
    }
    const waiting = s.state?.waiting;
    if (waiting?.reason === 'CrashLoopBackOff' || waiting?.reason === 'RunContainerError') {
      return {
        container: s.name,
        message: `init container ${s.name} cannot run: ${waiting.message ?? waiting.reason}`,
      };
    }
  }
  return undefined;
}

function mainStatus(pod: V1Pod): V1ContainerStatus | undefined {
  return pod.status?.containerStatuses?.find((c) => c.name === SANDBOX_CONTAINER);
}

/** Why a pending pod is not starting (image pull errors and the like), for status messages. */
function waitingMessage(pod: V1Pod): string | undefined {
  const statuses = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  for (const s of statuses) {
    const w = s.state?.waiting;
    if (w?.reason && w.reason !== 'PodInitializing' && w.reason !== 'ContainerCreating') {
      return `${s.name}: ${w.reason}${w.message ? `: ${w.message}` : ''}`;
    }
  }
  const unschedulable = pod.status?.conditions?.find(
    (c) => c.type === 'PodScheduled' && c.status === 'False',
  );
  return unschedulable?.message ?? pod.status?.message;
}

/**
 * What core's planner needs to know about a sandbox's Pod. A pod that is being deleted counts as
 * gone (a stopping sandbox is Stopped once its pod is on its way out; a new one waits for the name);
 * a pod of an earlier sandbox with the same name counts as exited, so it is replaced.
 */
export function observePod(pod: V1Pod | undefined, sandbox: Sandbox): ObservedWorkload | undefined {
  if (!pod || pod.metadata?.deletionTimestamp) return undefined;
  const name = pod.metadata?.name ?? '';
  const uid = sandbox.metadata.uid;
  if (!ownedBy(pod, sandbox)) {
    // Reported with its real owner, so the planner replaces it without counting a restart.
    const owner = pod.metadata?.ownerReferences?.find((r) => r.kind === 'Sandbox')?.uid ?? 'unknown';
    return {
      name,
      state: 'exited',
      ready: false,
      sandboxUid: owner,
      message: 'left over from an earlier sandbox',
    };
  }
  const base = { name, ...(uid ? { sandboxUid: uid } : {}) };
  const phase = pod.status?.phase ?? 'Pending';
  if (phase === 'Succeeded' || phase === 'Failed') {
    const terminated = mainStatus(pod)?.state?.terminated;
    const init = failedInit(pod);
    const message =
      init?.message ?? terminated?.message ?? terminated?.reason ?? pod.status?.reason ?? pod.status?.message;
    return {
      ...base,
      state: 'exited',
      ready: false,
      ...(terminated ? { exitCode: terminated.exitCode } : {}),
      ...(message ? { message } : {}),
    };
  }
  if (phase === 'Running') {
    const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    return { ...base, state: 'running', ready };
  }
  if (phase === 'Pending') {
    const init = failedInit(pod);
    if (init) return { ...base, state: 'exited', ready: false, message: init.message };
    const message = waitingMessage(pod);
    return { ...base, state: 'starting', ready: false, ...(message ? { message } : {}) };
  }
  return { ...base, state: 'other', ready: false };
}
