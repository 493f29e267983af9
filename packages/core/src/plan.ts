import type { Condition, Sandbox, SandboxPhase, SandboxStatus } from '@agenttier/contract';
import { SANDBOX_FINALIZER } from '@agenttier/contract';
import type { ObservedSandbox } from './ports.ts';
import type { EffectiveSandbox } from './template-merge.ts';

/** Restarts of a crashed workload before the sandbox goes to Error. */
export const MAX_RESTARTS = 5;
/** Failed reconcile attempts in a row before the sandbox goes to Error. */
export const MAX_FAILURES = 5;
export const RUNNING_RESYNC_MS = 30_000;
// Short: a sandbox becomes ready within a few hundred ms and users are waiting on it.
export const CREATING_POLL_MS = 50;

export type Action =
  | { type: 'addFinalizer' }
  | { type: 'removeFinalizer' }
  | { type: 'ensureVolume' }
  | { type: 'ensureWorkload' }
  | { type: 'removeWorkload' }
  | { type: 'removeVolume' }
  | { type: 'requestStop'; reason: 'MaxRuntimeExceeded' | 'IdleTimeout'; message: string };

export interface Plan {
  actions: Action[];
  /** Status fields to write (merged over the current status). */
  status: Partial<SandboxStatus>;
  requeueAfterMs?: number;
}

export interface PlanInput {
  sandbox: Sandbox;
  observed: ObservedSandbox;
  effective: EffectiveSandbox;
  nowMs: number;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

function phaseStatus(phase: SandboxPhase, reason: string, message: string): Partial<SandboxStatus> {
  return { phase, reason, message };
}

/**
 * The whole lifecycle as a pure function: current object + what the runtime sees → actions and the
 * status to record. Level-triggered: it never looks at what changed, only at what is.
 */
export function planSandbox({ sandbox, observed, effective, nowMs }: PlanInput): Plan {
  const status = sandbox.status ?? {};
  const { workload, volume } = observed;
  const actions: Action[] = [];

  if (sandbox.metadata.deletionTimestamp) {
    if (workload) actions.push({ type: 'removeWorkload' });
    if (volume) actions.push({ type: 'removeVolume' });
    if (!workload && !volume && sandbox.metadata.finalizers?.includes(SANDBOX_FINALIZER)) {
      actions.push({ type: 'removeFinalizer' });
    }
    return {
      actions,
      status: phaseStatus('Deleting', 'Deleting', 'Removing the container and its workspace'),
    };
  }

  if (!sandbox.metadata.finalizers?.includes(SANDBOX_FINALIZER)) actions.push({ type: 'addFinalizer' });

  const desired = sandbox.spec.desiredState ?? 'Running';
  if (desired === 'Stopped') {
    if (workload) {
      actions.push({ type: 'removeWorkload' });
      return { actions, status: { message: 'Stopping' }, requeueAfterMs: 0 };
    }
    return {
      actions,
      status: {
        ...phaseStatus(
          'Stopped',
          status.reason === 'MaxRuntimeExceeded' || status.reason === 'IdleTimeout'
            ? status.reason
            : 'Stopped',
          stopMessage(status),
        ),
        ...(status.phase !== 'Stopped' ? { stoppedAt: iso(nowMs) } : {}),
        // A stopped sandbox starts its next run with fresh clocks and budgets, even when a quick
        // resume lands before anyone else could reset them.
        startedAt: undefined,
        restartCount: 0,
      },
    };
  }

  // Terminal error: wait for the user to resume (which resets the counters).
  if (
    status.phase === 'Error' &&
    (status.reason === 'RestartLimitExceeded' || status.reason === 'ReconcileFailed')
  ) {
    return { actions, status: {} };
  }

  if (status.phase === 'Running' && workload?.ready) {
    const startedMs = status.startedAt ? Date.parse(status.startedAt) : nowMs;
    const activeMs = status.lastActivityTimestamp ? Date.parse(status.lastActivityTimestamp) : startedMs;
    if (effective.timeoutMs && nowMs - startedMs >= effective.timeoutMs) {
      actions.push({ type: 'requestStop', reason: 'MaxRuntimeExceeded', message: 'Max runtime exceeded' });
      return { actions, status: {}, requeueAfterMs: 0 };
    }
    if (effective.idleTimeoutMs && nowMs - Math.max(activeMs, startedMs) >= effective.idleTimeoutMs) {
      actions.push({ type: 'requestStop', reason: 'IdleTimeout', message: 'Idle timeout exceeded' });
      return { actions, status: {}, requeueAfterMs: 0 };
    }
    let requeue = RUNNING_RESYNC_MS;
    if (effective.timeoutMs) requeue = Math.min(requeue, startedMs + effective.timeoutMs - nowMs + 50);
    if (effective.idleTimeoutMs) {
      requeue = Math.min(requeue, Math.max(activeMs, startedMs) + effective.idleTimeoutMs - nowMs + 50);
    }
    return {
      actions,
      status: {
        ...phaseStatus('Running', 'Ready', ''),
        ...(status.startedAt ? {} : { startedAt: iso(nowMs) }),
      },
      requeueAfterMs: Math.max(requeue, 0),
    };
  }

  // A volume under our name but labelled for another sandbox is never mounted: ensureVolume refuses it
  // (and the failure backs off) until orphan collection removes it.
  const volumeOurs =
    volume !== undefined && (volume.sandboxUid === undefined || volume.sandboxUid === sandbox.metadata.uid);
  if (!volumeOurs) actions.push({ type: 'ensureVolume' });

  // The workload died under a running sandbox (OOM kill, `kill 1`, engine restart): restart within a budget.
  if (status.phase === 'Running' && (!workload || workload.state === 'exited')) {
    return restartWithinBudget(actions, status, {
      giveUp: `The sandbox stopped unexpectedly ${MAX_RESTARTS} times${exitNote(workload)}; resume it to try again`,
      retry: (n) => `Restarting after an unexpected exit (attempt ${n}/${MAX_RESTARTS})`,
    });
  }

  // A workload that dies before it ever became ready (bad entrypoint, start hook failing) is retried
  // within the same budget, so a broken image ends in Error instead of being recreated forever.
  // Counted only when this controller started it in the current attempt (reason Starting/Restarting):
  // a container left from before a resume, or another sandbox's leftover, is replaced for free.
  const startedByUs = status.reason === 'Starting' || status.reason === 'Restarting';
  const ours = workload?.sandboxUid === undefined || workload.sandboxUid === sandbox.metadata.uid;
  if (workload?.state === 'exited' && startedByUs && ours) {
    return restartWithinBudget(actions, status, {
      giveUp: `The sandbox exited before it became ready ${MAX_RESTARTS} times${exitNote(workload)}${workload.message ? `: ${workload.message}` : ''}; fix the template and resume it`,
      retry: (n) =>
        `The sandbox exited before it became ready; starting it again (attempt ${n}/${MAX_RESTARTS})`,
    });
  }

  if (!workload || workload.state === 'exited') actions.push({ type: 'ensureWorkload' });

  if (workload?.ready && workload.state === 'running') {
    // Only a fresh start sets the clocks: a readiness blip while Running must not restart the
    // max-runtime or idle clocks (stop and restart clear startedAt).
    return {
      actions,
      status: {
        ...phaseStatus('Running', 'Ready', ''),
        startedAt: status.startedAt ?? iso(nowMs),
        lastActivityTimestamp: status.lastActivityTimestamp ?? iso(nowMs),
      },
      requeueAfterMs: 0,
    };
  }
  return {
    actions,
    status: phaseStatus(
      'Creating',
      'Starting',
      workload ? 'Waiting for the sandbox to become ready' : 'Creating the workspace and container',
    ),
    requeueAfterMs: CREATING_POLL_MS,
  };
}

/** Starts the workload again and counts it, or ends in Error once MAX_RESTARTS is used up. */
function restartWithinBudget(
  actions: Action[],
  status: SandboxStatus,
  messages: { giveUp: string; retry: (attempt: number) => string },
): Plan {
  const restarts = (status.restartCount ?? 0) + 1;
  if (restarts > MAX_RESTARTS) {
    return { actions, status: phaseStatus('Error', 'RestartLimitExceeded', messages.giveUp) };
  }
  return {
    actions: [...actions, { type: 'ensureWorkload' }],
    status: {
      ...phaseStatus('Creating', 'Restarting', messages.retry(restarts)),
      restartCount: restarts,
      startedAt: undefined,
    },
    requeueAfterMs: CREATING_POLL_MS,
  };
}

function exitNote(workload: ObservedSandbox['workload']): string {
  return workload?.exitCode !== undefined ? ` (last exit code ${workload.exitCode})` : '';
}

function stopMessage(status: SandboxStatus): string {
  if (status.reason === 'MaxRuntimeExceeded') return 'Max runtime exceeded';
  if (status.reason === 'IdleTimeout') return 'Idle timeout exceeded';
  return 'Stopped; resume it to continue with the same workspace';
}

/** Sets or replaces one condition, keeping lastTransitionTime when the status did not change. */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  nowMs: number,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : iso(nowMs);
  const cond: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return list;
}

/** Backoff for failed reconciles: 1 s, 2 s, 4 s … capped at 30 s. */
export function backoffMs(failures: number): number {
  return Math.min(30_000, 1000 * 2 ** Math.max(0, failures - 1));
}
