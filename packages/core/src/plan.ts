import type { Condition, Sandbox, SandboxPhase, SandboxStatus } from '@agenttier/contract';
import { SANDBOX_FINALIZER } from '@agenttier/contract';
import type { ObservedSandbox, ObservedWorkload, WorkloadState } from './ports.ts';
import type { EffectiveSandbox } from './template-merge.ts';

/** Restarts of a crashed workload before the sandbox goes to Error. */
export const MAX_RESTARTS = 5;
/** Failed reconcile attempts in a row before the sandbox goes to Error. */
export const MAX_FAILURES = 5;
export const RUNNING_RESYNC_MS = 30_000;
// Short: a sandbox becomes ready within a few hundred ms and users are waiting on it.
export const CREATING_POLL_MS = 50;
/** The longest wait between looks while a sandbox is being created (see creatingPollMs). */
export const CREATING_POLL_MAX_MS = 500;
/** How often to look again while the engine itself is busy with the workload (restarting, removing). */
export const ENGINE_POLL_MS = 500;
/** How often to probe again while a Running sandbox's daemon does not answer. */
export const READINESS_POLL_MS = 1000;

/**
 * What the planner does with a workload in each engine state, in one place so every state is decided
 * on purpose (a state added to WorkloadState does not compile until it is listed here):
 * - `use`: it is what we want; wait for it to be ready
 * - `start`: it exists but nothing will run it unless we do (ensureWorkload starts or unpauses it)
 * - `replace`: it will never run again as it is (ensureWorkload removes it and creates a fresh one)
 * - `wait`: the engine or platform is acting on it; acting too would race it, so look again later
 */
export const WORKLOAD_HANDLING = {
  created: 'start',
  starting: 'wait',
  running: 'use',
  restarting: 'wait',
  paused: 'start',
  exited: 'replace',
  dead: 'replace',
  removing: 'wait',
  other: 'wait',
} as const satisfies Record<WorkloadState, 'use' | 'start' | 'replace' | 'wait'>;

/**
 * Reasons under which a sandbox stays in phase Running although it is not serving right now (its
 * readiness probe blipped, the engine is restarting or unpausing it). The phase does not flicker to
 * Creating; the Ready condition says False until it recovers.
 */
export const RUNNING_UNREADY_REASONS: readonly string[] = ['NotReady'];

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

  // The engine is already deleting the container: removing it again fails ("removal in progress"), and
  // so would removing the volume it still holds. Wait for it to go.
  const engineRemoving = workload?.state === 'removing';

  if (sandbox.metadata.deletionTimestamp) {
    if (workload && !engineRemoving) actions.push({ type: 'removeWorkload' });
    if (volume && !engineRemoving) actions.push({ type: 'removeVolume' });
    if (!workload && !volume && sandbox.metadata.finalizers?.includes(SANDBOX_FINALIZER)) {
      actions.push({ type: 'removeFinalizer' });
    }
    return {
      actions,
      status: phaseStatus('Deleting', 'Deleting', 'Removing the container and its workspace'),
      ...(engineRemoving ? { requeueAfterMs: ENGINE_POLL_MS } : {}),
    };
  }

  if (!sandbox.metadata.finalizers?.includes(SANDBOX_FINALIZER)) actions.push({ type: 'addFinalizer' });

  const desired = sandbox.spec.desiredState ?? 'Running';
  if (desired === 'Stopped') {
    if (engineRemoving) return { actions, status: { message: 'Stopping' }, requeueAfterMs: ENGINE_POLL_MS };
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

  const ours = workload?.sandboxUid === undefined || workload.sandboxUid === sandbox.metadata.uid;
  const handling = workload ? WORKLOAD_HANDLING[workload.state] : undefined;

  if (status.phase === 'Running' && workload?.state === 'running' && ours) {
    return planRunning(actions, status, workload, effective, nowMs);
  }

  // A volume under our name but labelled for another sandbox is never mounted: ensureVolume refuses it
  // (and the failure backs off) until orphan collection removes it.
  const volumeOurs =
    volume !== undefined &&
    !volume.incomplete &&
    (volume.sandboxUid === undefined || volume.sandboxUid === sandbox.metadata.uid);
  if (!volumeOurs) actions.push({ type: 'ensureVolume' });

  // The workload died under a running sandbox (OOM kill, `kill 1`, engine restart): restart within a budget.
  if (status.phase === 'Running' && (!workload || handling === 'replace')) {
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
  if (handling === 'replace' && startedByUs && ours) {
    return restartWithinBudget(actions, status, {
      giveUp: `The sandbox exited before it became ready ${MAX_RESTARTS} times${exitNote(workload)}${workload?.message ? `: ${workload.message}` : ''}; fix the template and resume it`,
      retry: (n) =>
        `The sandbox exited before it became ready; starting it again (attempt ${n}/${MAX_RESTARTS})`,
    });
  }

  // A container that was created but never started (the process died between the two calls, or the
  // start failed) is started; one that will not run again is replaced. A failing start throws, and the
  // reconciler counts it towards MAX_FAILURES, so a template the engine cannot run ends in Error.
  if (!workload || handling === 'replace' || handling === 'start') actions.push({ type: 'ensureWorkload' });

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
  // A Running sandbox that the engine is restarting or that was paused stays Running (Ready=False)
  // while it comes back, like a readiness blip.
  if (
    status.phase === 'Running' &&
    ours &&
    (workload?.state === 'restarting' || workload?.state === 'paused')
  ) {
    return {
      actions,
      status: phaseStatus('Running', 'NotReady', waitingMessage(workload)),
      requeueAfterMs: handling === 'wait' ? ENGINE_POLL_MS : CREATING_POLL_MS,
    };
  }
  return {
    actions,
    status: phaseStatus('Creating', 'Starting', waitingMessage(workload)),
    requeueAfterMs:
      handling === 'wait' && workload?.state !== 'starting' ? ENGINE_POLL_MS : creatingPollMs(status, nowMs),
  };
}

/**
 * How soon to look again at a sandbox waiting to become ready: 50 ms at first, then a tenth of the
 * time it has been waiting (since its Ready condition last turned False, less a second for the
 * truncated timestamp), at most 500 ms. A quick start
 * is seen within 50 ms; twenty sandboxes starting at once on a small machine do not each cost the
 * engine twenty inspects and probes a second while they wait, which slowed every one of them down.
 * Adds at most a tenth to any wait.
 */
export function creatingPollMs(status: SandboxStatus, nowMs: number): number {
  const ready = status.conditions?.find((c) => c.type === 'Ready');
  const since = ready?.status === 'False' ? Date.parse(ready.lastTransitionTime) : NaN;
  if (!Number.isFinite(since)) return CREATING_POLL_MS;
  // Status times have whole seconds (truncated): the wait may be up to a second shorter than it looks.
  const waitedMs = nowMs - since - 1000;
  return Math.min(CREATING_POLL_MAX_MS, Math.max(CREATING_POLL_MS, Math.round(waitedMs / 10)));
}

/**
 * A Running sandbox whose container runs: enforce the max runtime and idle timeout, and report
 * readiness. A daemon that stops answering keeps the phase Running with reason NotReady (Ready=False);
 * only a workload that is gone or exited leaves Running.
 */
function planRunning(
  actions: Action[],
  status: SandboxStatus,
  workload: ObservedWorkload,
  effective: EffectiveSandbox,
  nowMs: number,
): Plan {
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
  let requeue = workload.ready ? RUNNING_RESYNC_MS : READINESS_POLL_MS;
  if (effective.timeoutMs) requeue = Math.min(requeue, startedMs + effective.timeoutMs - nowMs + 50);
  if (effective.idleTimeoutMs) {
    requeue = Math.min(requeue, Math.max(activeMs, startedMs) + effective.idleTimeoutMs - nowMs + 50);
  }
  return {
    actions,
    status: {
      ...(workload.ready
        ? phaseStatus('Running', 'Ready', '')
        : phaseStatus(
            'Running',
            'NotReady',
            'The sandbox daemon is not answering; waiting for it to recover',
          )),
      ...(status.startedAt ? {} : { startedAt: iso(nowMs) }),
    },
    requeueAfterMs: Math.max(requeue, 0),
  };
}

function waitingMessage(workload: ObservedWorkload | undefined): string {
  const detail = workload?.message ? ` (${workload.message})` : '';
  switch (workload?.state) {
    case undefined:
      return 'Creating the workspace and container';
    case 'created':
      return `Starting the container${detail}`;
    case 'starting':
    case 'running':
      return `Waiting for the sandbox to become ready${detail}`;
    case 'restarting':
      return 'The engine is restarting the container; waiting for it';
    case 'paused':
      return 'The container was paused; unpausing it';
    case 'removing':
      return 'The engine is removing an old container; waiting for it before creating a new one';
    case 'exited':
    case 'dead':
      return `Replacing a container that is no longer running${detail}`;
    case 'other':
      return `The container is in a state the controller does not know${detail}; waiting for it to settle`;
  }
}

/** The Ready condition that goes with a status: True only while Running and serving. */
export function readyCondition(status: SandboxStatus): Omit<Condition, 'lastTransitionTime'> {
  const serving = status.phase === 'Running' && !RUNNING_UNREADY_REASONS.includes(status.reason ?? '');
  return {
    type: 'Ready',
    status: serving ? 'True' : 'False',
    reason: status.reason ?? status.phase ?? 'Pending',
    message: status.message ?? '',
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
