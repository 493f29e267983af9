import type { Sandbox, SandboxTemplate, TemplateRef } from '@agenttier/contract';
import { SANDBOX_FINALIZER, isPlatformError } from '@agenttier/contract';
import type { Clock, Logger, ObjectKey, Runtime, Store } from './ports.ts';
import { MAX_FAILURES, backoffMs, planSandbox, readyCondition, setCondition } from './plan.ts';
import type { Action } from './plan.ts';
import type { EffectiveSandbox, SandboxDefaults } from './template-merge.ts';
import { DEFAULTS, resolveEffectiveSandbox } from './template-merge.ts';

export interface ReconcilerDeps {
  store: Store;
  runtime: Runtime;
  clock: Clock;
  logger: Logger;
  defaults?: SandboxDefaults;
  /** Called on each phase change, for Events, metrics and webhooks. */
  onTransition?: (sandbox: Sandbox, from: string | undefined, to: string, message: string) => void;
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

/** Terminal errors are the user's to fix (a template was deleted): no retry until the spec changes. */
function isTerminal(err: unknown): boolean {
  return isPlatformError(err) && (err.code === 'TEMPLATE_NOT_FOUND' || err.code === 'UNPROCESSABLE');
}

/**
 * reconcile(key): read the sandbox, observe the runtime, plan (pure), apply idempotently, write status.
 * Throwing is never needed by callers: failures are counted in status and retried with backoff.
 */
export function createSandboxReconciler(deps: ReconcilerDeps) {
  const { store, runtime, clock } = deps;
  const lookup = templateLookup(store);

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
        await runtime.ensureVolume(sandbox, effective);
        return sandbox;
      case 'ensureWorkload':
        await runtime.ensureWorkload(sandbox, effective);
        return sandbox;
      case 'removeWorkload':
        await runtime.removeWorkload(sandbox);
        return sandbox;
      case 'removeVolume':
        await runtime.removeVolume(sandbox);
        return sandbox;
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
      deps.onTransition?.(written, sandbox.status?.phase, next.phase, next.message ?? '');
    }
    return written;
  }

  return async function reconcile(key: string): Promise<{ requeueAfterMs?: number }> {
    const log = deps.logger.child({ sandbox: key });
    let sandbox = await store.get<Sandbox>('Sandbox', parseKey(key));
    if (!sandbox) return {};
    const waiting = waitingFor(sandbox, clock.now());
    if (waiting !== undefined) return waiting === 0 ? {} : { requeueAfterMs: waiting };
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
        if (action.type === 'removeFinalizer') return {};
      }
      const fresh = plan.actions.length ? await store.get<Sandbox>('Sandbox', parseKey(key)) : sandbox;
      if (!fresh) return {};
      await writeStatus(
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
      const requeueAfterMs = plan.requeueAfterMs ?? (plan.actions.length ? 0 : undefined);
      return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
    } catch (err) {
      if (isPlatformError(err) && err.code === 'CONFLICT') return { requeueAfterMs: 0 }; // someone wrote first: re-read
      const current = (await store.get<Sandbox>('Sandbox', parseKey(key))) ?? sandbox;
      const failures = (current.status?.failureCount ?? 0) + 1;
      const message = err instanceof Error ? err.message : String(err);
      log.warn({ err: message, failures }, 'reconcile failed');
      // A child under our name that belongs to someone else blocks us until it is removed (orphan
      // collection, or the user): keep waiting with capped backoff instead of giving up.
      const blocked = isPlatformError(err) && err.code === 'ALREADY_EXISTS';
      if (isTerminal(err) || (failures >= MAX_FAILURES && !blocked)) {
        await writeStatus(
          current,
          {
            phase: 'Error',
            reason: 'ReconcileFailed',
            message: isTerminal(err)
              ? message
              : `${message} (gave up after ${failures} attempts; resume to retry)`,
            failureCount: failures,
            nextRetryAt: undefined,
          },
          plannedGeneration,
        ).catch(() => undefined);
        return {};
      }
      const delay = backoffMs(failures);
      await writeStatus(
        current,
        {
          failureCount: failures,
          message: `Retrying after an error: ${message}`,
          nextRetryAt: new Date(clock.now() + delay).toISOString(),
        },
        plannedGeneration,
      ).catch(() => undefined);
      return { requeueAfterMs: delay };
    }
  };
}

/**
 * Whether to leave the sandbox alone for now. A sandbox in a terminal Error waits for the user (resume,
 * stop or delete change it), and one backing off waits for its retry time: resyncs and unrelated writes
 * must not turn a backoff into a hot loop. Returns 0 for "until something changes", a delay in ms, or
 * undefined to reconcile now.
 */
function waitingFor(sandbox: Sandbox, nowMs: number): number | undefined {
  const status = sandbox.status ?? {};
  if (sandbox.metadata.deletionTimestamp) return undefined;
  if ((sandbox.spec.desiredState ?? 'Running') === 'Stopped') return undefined;
  const unchanged = (status.observedGeneration ?? 0) === (sandbox.metadata.generation ?? 1);
  if (!unchanged) return undefined;
  if (
    status.phase === 'Error' &&
    (status.reason === 'ReconcileFailed' || status.reason === 'RestartLimitExceeded')
  ) {
    return 0;
  }
  const retryAt = status.nextRetryAt ? Date.parse(status.nextRetryAt) : NaN;
  // Capped at the longest backoff: a retry time written by a previous leader whose clock ran ahead
  // must not park the sandbox for hours.
  if (retryAt > nowMs) return Math.min(retryAt - nowMs, backoffMs(Number.MAX_SAFE_INTEGER));
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
