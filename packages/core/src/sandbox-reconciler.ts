import type { Sandbox, SandboxTemplate, TemplateRef } from '@agenttier/contract';
import { SANDBOX_FINALIZER, isPlatformError } from '@agenttier/contract';
import type { Clock, Logger, ObjectKey, Runtime, Store } from './ports.ts';
import { MAX_FAILURES, backoffMs, planSandbox, readyCondition, setCondition } from './plan.ts';
import type { Action } from './plan.ts';
import type { ReconcileResult } from './reconcile-result.ts';
import { ownExhaustionCode } from './own-exhaustion.ts';
import { backOffEvent, childEvent, transitionEvent } from './sandbox-events.ts';
import type { SandboxEventInput } from './sandbox-events.ts';
import { isTerminalError, requeueAfter, requeueNow, requeueWhenChanged } from './reconcile-result.ts';
import type { Pass } from './work-queue.ts';
import type { EffectiveSandbox, SandboxDefaults } from './template-merge.ts';
import { DEFAULTS, resolveEffectiveSandbox } from './template-merge.ts';

/** How soon to look again after the controller ran out of descriptors (they free up as load drops). */
const OWN_EXHAUSTION_RETRY_MS = 2000;

export interface ReconcilerDeps {
  store: Store;
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  defaults?: SandboxDefaults;
  /** Called on each phase change, for Events, metrics and webhooks; `reconcileId` names the pass. */
  onTransition?: (
    sandbox: Sandbox,
    from: string | undefined,
    to: string,
    message: string,
    context: { reconcileId: string },
  ) => void;
  /**
   * Called for what belongs in the sandbox's events feed: each phase change (transitionEvent) and each
   * failed pass that will be retried (BackOff). Messages are already redacted (sandbox-events.ts).
   */
  onEvent?: (sandbox: Sandbox, event: SandboxEventInput) => void;
}

export function templateLookup(store: Store) {
  return async (ref: TemplateRef, ns: string): Promise<SandboxTemplate | undefined> => {
    const kind = ref.kind ?? 'ClusterSandboxTemplate';
    if (kind === 'SandboxTemplate') {
      return store.get<SandboxTemplate>('SandboxTemplate', {
        namespace: ref.namespace ?? ns,
        name: ref.name,
      });
    }
    return store.get<SandboxTemplate>('ClusterSandboxTemplate', { name: ref.name });
  };
}

export function keyOf(obj: { metadata: { namespace?: string; name: string } }): string {
  return `${obj.metadata.namespace ?? ''}/${obj.metadata.name}`;
}

export function parseKey(key: string): ObjectKey {
  const i = key.indexOf('/');
  return { namespace: key.slice(0, i) || undefined, name: key.slice(i + 1) } as ObjectKey;
}

/**
 * reconcile(key): read the sandbox, observe the runtime, plan (pure), apply idempotently, write status,
 * and say when to look again (ReconcileResult). A failure while acting is counted in status and retried
 * with a backoff that survives restarts (`failureCount`, `nextRetryAt`); a TerminalError puts the sandbox
 * in Error until its spec changes. Anything that escapes (a store read that fails before or while
 * recording a failure) is thrown to the work queue, which retries the key with its own backoff.
 * Every log line of a pass carries its `reconcileId`.
 */
export function createSandboxReconciler(deps: ReconcilerDeps) {
  const { store, runtime, clock } = deps;
  const lookup = templateLookup(store);
  let passes = 0;

  /** A child changed: say so in the events feed. */
  function child(sandbox: Sandbox, action: Parameters<typeof childEvent>[0], outcome: string): Sandbox {
    const event = childEvent(action, outcome, Boolean(sandbox.metadata.deletionTimestamp));
    if (event) deps.onEvent?.(sandbox, event);
    return sandbox;
  }

  async function apply(sandbox: Sandbox, effective: EffectiveSandbox, action: Action): Promise<Sandbox> {
    switch (action.type) {
      case 'addFinalizer':
        return store.update({
          ...sandbox,
          metadata: {
            ...sandbox.metadata,
            finalizers: [...(sandbox.metadata.finalizers ?? []), SANDBOX_FINALIZER],
          },
        });
      case 'removeFinalizer':
        await store.update({
          ...sandbox,
          metadata: {
            ...sandbox.metadata,
            finalizers: (sandbox.metadata.finalizers ?? []).filter((f) => f !== SANDBOX_FINALIZER),
          },
        });
        return sandbox;
      case 'ensureVolume':
        return child(sandbox, action.type, await runtime.ensureVolume(sandbox, effective));
      case 'ensureWorkload':
        return child(sandbox, action.type, await runtime.ensureWorkload(sandbox, effective));
      case 'removeWorkload':
        return child(sandbox, action.type, await runtime.removeWorkload(sandbox));
      case 'removeVolume':
        return child(sandbox, action.type, await runtime.removeVolume(sandbox));
      case 'requestStop': {
        const updated = await store.update<Sandbox>({
          ...sandbox,
          spec: { ...sandbox.spec, desiredState: 'Stopped' as const },
        });
        return store.updateStatus({
          ...updated,
          status: { ...updated.status, reason: action.reason, message: action.message },
        });
      }
    }
  }

  /**
   * `generation` is that of the object the plan was made from: a spec change that landed meanwhile is
   * then not marked as seen, so the next pass (and waitingFor) takes it into account.
   */
  async function writeStatus(
    reconcileId: string,
    sandbox: Sandbox,
    patch: Partial<Sandbox['status']> & object,
    generation: number = sandbox.metadata.generation ?? 1,
  ): Promise<Sandbox> {
    const now = clock.now();
    const next = { ...sandbox.status, ...patch };
    for (const k of Object.keys(next) as Array<keyof typeof next>) if (next[k] === undefined) delete next[k];
    next.observedGeneration = generation;
    next.conditions = setCondition(next.conditions, readyCondition(next), now);
    if (JSON.stringify(next) === JSON.stringify(sandbox.status ?? {})) return sandbox;
    const written = await store.updateStatus({ ...sandbox, status: next });
    if (next.phase && next.phase !== sandbox.status?.phase) {
      deps.onTransition?.(written, sandbox.status?.phase, next.phase, next.message ?? '', { reconcileId });
      deps.onEvent?.(
        written,
        transitionEvent(written, sandbox.status?.phase, next.phase, next.message ?? ''),
      );
    }
    return written;
  }

  /** `pass`: the work queue's name for this run; called on its own (tests), the reconciler names it. */
  return async function reconcile(key: string, pass?: Pass): Promise<ReconcileResult> {
    const reconcileId = pass?.reconcileId ?? `r${++passes}`;
    const log = deps.logger.child({ sandbox: key, reconcileId });
    try {
      return await reconcileOnce(key, reconcileId, log);
    } catch (err) {
      log.warn(
        { err: err instanceof Error ? err.message : String(err) },
        'reconcile threw; retrying with backoff',
      );
      throw err;
    }
  };

  async function reconcileOnce(key: string, reconcileId: string, log: Logger): Promise<ReconcileResult> {
    let sandbox = await store.get<Sandbox>('Sandbox', parseKey(key));
    if (!sandbox) return requeueWhenChanged;
    const waiting = waitingFor(sandbox, clock.now());
    if (waiting) return waiting;
    const plannedGeneration = sandbox.metadata.generation ?? 1;
    try {
      let effective: EffectiveSandbox;
      try {
        ({ effective } = await resolveEffectiveSandbox(sandbox, lookup, deps.defaults ?? DEFAULTS));
      } catch (err) {
        // A deleting sandbox must still be cleaned up when its template is gone.
        if (!sandbox.metadata.deletionTimestamp) throw err;
        effective = placeholderEffective(sandbox);
      }
      const observed = await runtime.observe(sandbox);
      const plan = planSandbox({ sandbox, observed, effective, nowMs: clock.now() });
      for (const action of plan.actions) {
        log.debug({ action: action.type }, 'apply');
        sandbox = await apply(sandbox, effective, action);
        if (action.type === 'removeFinalizer') return requeueWhenChanged;
      }
      const fresh = plan.actions.length ? await store.get<Sandbox>('Sandbox', parseKey(key)) : sandbox;
      if (!fresh) return requeueWhenChanged;
      await writeStatus(
        reconcileId,
        fresh,
        {
          ...plan.status,
          resolvedTemplate: effective.templateName,
          failureCount: 0,
          nextRetryAt: undefined,
        },
        plannedGeneration,
      );
      // After acting, look again at once: the next step (e.g. dropping the finalizer once the children
      // are gone) depends on what the actions did, and the controller ignores its own writes' events.
      if (plan.requeueAfterMs !== undefined) return requeueAfter(plan.requeueAfterMs);
      return plan.actions.length ? requeueNow : requeueWhenChanged;
    } catch (err) {
      if (isPlatformError(err) && err.code === 'CONFLICT') return requeueNow; // someone wrote first: re-read
      const exhausted = ownExhaustionCode(err);
      if (exhausted) {
        // Our own process is out of descriptors: not the sandbox's failure, so it counts for nothing
        // towards Error; say so in the status and look again soon.
        log.warn(
          { err: err instanceof Error ? err.message : String(err) },
          'controller out of file descriptors',
        );
        const now = (await store.get<Sandbox>('Sandbox', parseKey(key)).catch(() => undefined)) ?? sandbox;
        await writeStatus(
          reconcileId,
          now,
          { message: `Waiting: the controller is out of file descriptors (${exhausted}); retrying` },
          plannedGeneration,
        ).catch(() => undefined);
        return requeueAfter(OWN_EXHAUSTION_RETRY_MS);
      }
      const current = (await store.get<Sandbox>('Sandbox', parseKey(key))) ?? sandbox;
      const failures = (current.status?.failureCount ?? 0) + 1;
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message, failures }, 'reconcile failed');
      // A child under our name that belongs to someone else blocks us until it is removed (orphan
      // collection, or the user): keep waiting with capped backoff instead of giving up.
      const blocked = isPlatformError(err) && err.code === 'ALREADY_EXISTS';
      const terminal = isTerminalError(err);
      if (terminal || (failures >= MAX_FAILURES && !blocked)) {
        await writeStatus(
          reconcileId,
          current,
          {
            phase: 'Error',
            reason: 'ReconcileFailed',
            message: terminal ? message : `${message} (gave up after ${failures} attempts; resume to retry)`,
            failureCount: failures,
            nextRetryAt: undefined,
          },
          plannedGeneration,
        ).catch(() => undefined);
        return requeueWhenChanged;
      }
      const delay = backoffMs(failures);
      deps.onEvent?.(current, backOffEvent(current, message));
      await writeStatus(
        reconcileId,
        current,
        {
          failureCount: failures,
          message: `Retrying after an error: ${message}`,
          nextRetryAt: new Date(clock.now() + delay).toISOString(),
        },
        plannedGeneration,
      ).catch(() => undefined);
      return requeueAfter(delay);
    }
  }
}

/**
 * Whether to leave the sandbox alone for now. A sandbox in a terminal Error waits for the user (resume,
 * stop or delete change it), and one backing off waits for its retry time: resyncs and unrelated writes
 * must not turn a backoff into a hot loop. Returns what to ask of the queue instead, or undefined to
 * reconcile now.
 */
function waitingFor(sandbox: Sandbox, nowMs: number): ReconcileResult | undefined {
  const status = sandbox.status ?? {};
  if (sandbox.metadata.deletionTimestamp) return undefined;
  if ((sandbox.spec.desiredState ?? 'Running') === 'Stopped') return undefined;
  const unchanged = (status.observedGeneration ?? 0) === (sandbox.metadata.generation ?? 1);
  if (!unchanged) return undefined;
  if (
    status.phase === 'Error' &&
    (status.reason === 'ReconcileFailed' || status.reason === 'RestartLimitExceeded')
  ) {
    return requeueWhenChanged;
  }
  const retryAt = status.nextRetryAt ? Date.parse(status.nextRetryAt) : NaN;
  // Capped at the longest backoff: a retry time written by a previous leader whose clock ran ahead
  // must not park the sandbox for hours.
  if (retryAt > nowMs) return requeueAfter(Math.min(retryAt - nowMs, backoffMs(Number.MAX_SAFE_INTEGER)));
  return undefined;
}

function placeholderEffective(sandbox: Sandbox): EffectiveSandbox {
  return {
    mode: sandbox.spec.mode ?? 'code',
    image: '',
    pullPolicy: 'Never',
    resources: { cpu: '1', memory: '1Gi', pids: 64 },
    storage: { size: '1Gi', mountPath: '/workspace' },
    network: { allowInternet: false, allowedDomains: [] },
    env: [],
    workingDir: '/workspace',
    shell: '/bin/sh',
    agent: {},
    templateName: sandbox.spec.templateRef.name,
  };
}
