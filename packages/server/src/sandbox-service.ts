import type { CreateSandboxRequest, PatchSandboxRequest, Sandbox } from '@agenttier/contract';
import {
  API_VERSION,
  DEFAULT_NAMESPACE,
  PlatformError,
  annotationsSchema,
  applyStringMapPatch,
  isPlatformError,
  labelsSchema,
  parseOrThrow,
} from '@agenttier/contract';
import type { SecretStore, Store } from '@agenttier/core';
import { resolveEffectiveSandbox, templateLookup } from '@agenttier/core';
import { checkCredentials } from './secrets/check-credentials.ts';
import type { Identity } from './context.ts';
import type { CreateLimiter } from './create-limits.ts';
import type { MachineCapacity } from './capacity.ts';
import { checkCapacity } from './capacity.ts';

export interface SandboxServiceDeps {
  store: Store;
  /** Nudges the controller so it does not wait for the watch. */
  enqueue?: (namespace: string, name: string) => void;
  /** Called after a sandbox's deletion was accepted (agent mode drops its runs and records). */
  onDeleted?: (namespace: string, name: string) => Promise<void>;
  /** Create rate limit and cap on sandboxes; none when absent. */
  createLimits?: CreateLimiter;
  /** CPU and memory one sandbox may ask for at most (the local machine's); unchecked when absent. */
  capacity?: MachineCapacity;
  /**
   * The platform's name for a sandbox's children when it is not unique per namespace (the local
   * engine's `agenttier-<ns>-<name>`: namespace `a` name `b-c` and namespace `a-b` name `c` share one).
   * A create whose children would take another sandbox's name is refused; unchecked when absent.
   */
  childNameOf?: (namespace: string, name: string) => string;
  /** The per-user secret store: a create may reference only the caller's own secrets (local platform). */
  secrets?: SecretStore;
}

/**
 * Refuses a create whose engine children would carry the same name as another sandbox's: the second
 * sandbox could never run (the runtime leaves another sandbox's container alone).
 */
async function checkChildNameFree(
  store: Store,
  namespace: string,
  name: string,
  childNameOf: SandboxServiceDeps['childNameOf'],
): Promise<void> {
  if (!childNameOf) return;
  const wanted = childNameOf(namespace, name);
  for (const other of await store.list<Sandbox>('Sandbox')) {
    const ns = other.metadata.namespace ?? DEFAULT_NAMESPACE;
    if (ns === namespace && other.metadata.name === name) continue; // the store answers ALREADY_EXISTS
    if (childNameOf(ns, other.metadata.name) !== wanted) continue;
    throw new PlatformError(
      'ALREADY_EXISTS',
      `sandbox ${namespace}/${name} would run as "${wanted}", the engine name of sandbox ${ns}/${other.metadata.name}; choose another name or namespace`,
    );
  }
}

/** Retries a read-modify-write on optimistic-concurrency conflicts. */
async function mutate(
  store: Store,
  ns: string,
  name: string,
  fn: (sb: Sandbox) => Promise<Sandbox | undefined>,
): Promise<Sandbox> {
  for (let attempt = 0; ; attempt++) {
    const current = await getSandboxOrThrow(store, ns, name);
    try {
      return (await fn(current)) ?? current;
    } catch (err) {
      if (isPlatformError(err) && err.code === 'CONFLICT' && attempt < 5) continue;
      throw err;
    }
  }
}

/**
 * Writes a status derived from the latest object, re-reading on conflicts (the controller writes
 * status too). `next` returns undefined when the write is no longer wanted.
 */
async function writeStatusHint(
  store: Store,
  first: Sandbox,
  next: (sb: Sandbox) => Sandbox['status'] | undefined,
): Promise<Sandbox> {
  let current = first;
  for (let attempt = 0; ; attempt++) {
    const status = next(current);
    if (!status) return current;
    try {
      return await store.updateStatus<Sandbox>({ ...current, status });
    } catch (err) {
      if (!(isPlatformError(err) && err.code === 'CONFLICT') || attempt >= 5) throw err;
      const fresh = await store.get<Sandbox>('Sandbox', {
        namespace: first.metadata.namespace!,
        name: first.metadata.name,
      });
      if (!fresh) return current;
      current = fresh;
    }
  }
}

/** The answer for a sandbox that does not exist, and for someone else's (access control). */
export function sandboxNotFound(ns: string, name: string): PlatformError {
  return new PlatformError(
    'SANDBOX_NOT_FOUND',
    `sandbox "${name}" not found in namespace "${ns}"; list sandboxes with \`agenttier sandbox list\``,
  );
}

export async function getSandboxOrThrow(store: Store, ns: string, name: string): Promise<Sandbox> {
  const sb = await store.get<Sandbox>('Sandbox', { namespace: ns, name });
  if (!sb) throw sandboxNotFound(ns, name);
  return sb;
}

/** Sandbox lifecycle requests, independent of HTTP: validation happened at the edge already. */
export function createSandboxService(deps: SandboxServiceDeps) {
  const { store } = deps;
  const lookup = templateLookup(store);
  const nudge = (ns: string, name: string) => deps.enqueue?.(ns, name);
  const lastTouch = new Map<string, number>();

  return {
    async create(req: CreateSandboxRequest, who: Identity): Promise<Sandbox> {
      deps.createLimits?.checkRate(who.sub);
      const namespace = req.namespace ?? DEFAULT_NAMESPACE;
      const templateName = req.templateRef?.name ?? req.template;
      if (!templateName) {
        throw new PlatformError(
          'VALIDATION_FAILED',
          'templateRef.name is required (for example "general-coding")',
          {
            details: [{ field: 'templateRef.name', rule: 'required', message: 'is required' }],
          },
        );
      }
      const templateRef = {
        name: templateName,
        kind: req.templateRef?.kind ?? 'ClusterSandboxTemplate',
        ...(req.templateRef?.namespace ? { namespace: req.templateRef.namespace } : {}),
      };
      const draft: Sandbox = {
        apiVersion: API_VERSION,
        kind: 'Sandbox',
        metadata: {
          name: req.name,
          namespace,
          ...(req.labels ? { labels: req.labels } : {}),
          ...(req.annotations ? { annotations: req.annotations } : {}),
        },
        spec: {
          templateRef,
          desiredState: 'Running',
          createdBy: {
            sub: who.sub,
            ...(who.email ? { email: who.email } : {}),
            ...(who.name ? { displayName: who.name } : {}),
          },
          ...(req.mode ? { mode: req.mode } : {}),
          ...(req.timeout ? { timeout: req.timeout } : {}),
          ...(req.idleTimeout ? { idleTimeout: req.idleTimeout } : {}),
          ...(req.storage ? { storage: req.storage } : {}),
          ...(req.resources ? { resources: req.resources } : {}),
          ...(req.env ? { env: req.env } : {}),
          ...(req.credentials ? { credentials: req.credentials } : {}),
        },
      };
      // Resolve now so an unknown template is a 422 at the edge, not an Error phase later.
      let effective;
      try {
        ({ effective } = await resolveEffectiveSandbox(draft, lookup));
      } catch (err) {
        if (isPlatformError(err) && (err.code === 'TEMPLATE_NOT_FOUND' || err.code === 'UNPROCESSABLE')) {
          throw new PlatformError('UNPROCESSABLE', err.message, {
            details: [{ field: 'templateRef.name', rule: 'exists', message: err.message }],
          });
        }
        throw err;
      }
      checkCapacity(effective, deps.capacity);
      await checkCredentials(effective, {
        owner: who.sub,
        namespace,
        ...(deps.secrets ? { secrets: deps.secrets } : {}),
      });
      await checkChildNameFree(store, namespace, req.name, deps.childNameOf);
      draft.spec.mode = req.mode ?? effective.mode;
      draft.status = {
        phase: 'Creating',
        reason: 'Pending',
        message: 'Waiting for the controller',
        resolvedTemplate: effective.templateName,
      };
      const limits = deps.createLimits;
      const created = limits
        ? await limits.withinCap(
            async () => (await store.list('Sandbox')).length,
            () => store.create(draft),
          )
        : await store.create(draft);
      nudge(namespace, req.name);
      return created;
    },

    async stop(ns: string, name: string): Promise<Sandbox> {
      // Two writes: the spec (the intent, retried on conflict) and then a best-effort status hint.
      // A conflict on the second must not re-run the first check and answer "already stopping".
      const updated = await mutate(store, ns, name, async (sb) => {
        if (sb.metadata.deletionTimestamp)
          throw new PlatformError('INVALID_PHASE', `sandbox "${name}" is being deleted`);
        if ((sb.spec.desiredState ?? 'Running') === 'Stopped') {
          throw new PlatformError(
            'INVALID_PHASE',
            `cannot stop sandbox "${name}" in phase ${sb.status?.phase ?? 'Creating'}: it is already ${sb.status?.phase === 'Stopped' ? 'stopped' : 'stopping'}`,
          );
        }
        return store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
      });
      const result = await writeStatusHint(store, updated, (sb) =>
        (sb.spec.desiredState ?? 'Running') === 'Stopped' && sb.status?.phase !== 'Stopped'
          ? { ...sb.status, reason: 'Stopping', message: 'Stopping' }
          : undefined,
      );
      nudge(ns, name);
      return result;
    },

    async resume(ns: string, name: string): Promise<Sandbox> {
      let wasStopped = false;
      const updated = await mutate(store, ns, name, async (sb) => {
        if (sb.metadata.deletionTimestamp)
          throw new PlatformError('INVALID_PHASE', `sandbox "${name}" is being deleted`);
        const stopped = (sb.spec.desiredState ?? 'Running') === 'Stopped';
        if (!stopped && sb.status?.phase !== 'Error') {
          throw new PlatformError(
            'INVALID_PHASE',
            `cannot resume sandbox "${name}" in phase ${sb.status?.phase ?? 'Creating'}: it is already running`,
          );
        }
        wasStopped = stopped;
        return stopped ? store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Running' } }) : sb;
      });
      // Resuming from Error is a status-only change (the counters reset), so it must land: retried
      // against fresh reads for as long as the sandbox is still meant to run and has not moved on.
      const result = await writeStatusHint(store, updated, (sb) => {
        if ((sb.spec.desiredState ?? 'Running') !== 'Running' || sb.metadata.deletionTimestamp)
          return undefined;
        if (wasStopped ? sb.status?.phase === 'Running' : sb.status?.phase !== 'Error') return undefined;
        return {
          ...sb.status,
          phase: 'Creating',
          reason: 'Resuming',
          message: 'Resuming',
          failureCount: 0,
          restartCount: 0,
          // A fresh run: the max-runtime clock starts again when it is Running.
          startedAt: undefined,
        };
      });
      nudge(ns, name);
      return result;
    },

    async patch(ns: string, name: string, req: PatchSandboxRequest) {
      const applied: Record<string, 'immediately' | 'on-restart'> = {};
      const sb = await mutate(store, ns, name, async (current) => {
        const spec = { ...current.spec };
        const metadata = { ...current.metadata };
        if (req.timeout !== undefined) {
          spec.timeout = req.timeout;
          applied.timeout = 'immediately';
        }
        if (req.idleTimeout !== undefined) {
          spec.idleTimeout = req.idleTimeout;
          applied.idleTimeout = 'immediately';
        }
        if (req.resources !== undefined) {
          spec.resources = { ...spec.resources, ...req.resources };
          applied.resources = 'on-restart';
        }
        if (req.env !== undefined) {
          spec.env = req.env;
          applied.env = 'on-restart';
        }
        // JSON merge patch: `null` removes a key (absent keys are a no-op), strings set one.
        if (req.labels) {
          metadata.labels = applyStringMapPatch(metadata.labels, req.labels);
          applied.labels = 'immediately';
        }
        if (req.annotations) {
          metadata.annotations = applyStringMapPatch(metadata.annotations, req.annotations);
          applied.annotations = 'immediately';
        }
        // The limits hold for the merged result (256 KiB of annotations in total, not per request).
        if (req.labels) parseOrThrow(labelsSchema, metadata.labels, 'patch', 'labels');
        if (req.annotations) parseOrThrow(annotationsSchema, metadata.annotations, 'patch', 'annotations');
        if (req.resources !== undefined) {
          const { effective } = await resolveEffectiveSandbox({ ...current, spec }, lookup);
          checkCapacity(effective, deps.capacity);
        }
        if (Object.keys(applied).length === 0) {
          throw new PlatformError(
            'VALIDATION_FAILED',
            'nothing to change: give at least one of timeout, idleTimeout, resources, env, labels, annotations',
          );
        }
        return store.update<Sandbox>({ ...current, metadata, spec });
      });
      nudge(ns, name);
      const restartRequired = Object.values(applied).includes('on-restart');
      return {
        sandboxId: name,
        applied,
        restartRequired,
        ...(restartRequired
          ? { message: 'resource and env changes take effect after the sandbox is stopped and resumed' }
          : {}),
        sandbox: sb,
      };
    },

    async delete(ns: string, name: string): Promise<void> {
      await getSandboxOrThrow(store, ns, name);
      await store.delete('Sandbox', { namespace: ns, name });
      nudge(ns, name);
      await deps.onDeleted?.(ns, name);
    },

    /**
     * Records activity for the idle timeout. Throttled in memory per sandbox, so a busy sandbox (an
     * agent running hundreds of execs, a terminal being typed in) writes at most once per interval.
     */
    async touch(sb: Sandbox, nowMs: number, minIntervalMs = 15_000): Promise<void> {
      const uid = sb.metadata.uid ?? sb.metadata.name;
      const persisted = sb.status?.lastActivityTimestamp ? Date.parse(sb.status.lastActivityTimestamp) : 0;
      const last = Math.max(lastTouch.get(uid) ?? 0, persisted);
      if (nowMs - last < minIntervalMs) return;
      lastTouch.set(uid, nowMs);
      const at = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
      for (let attempt = 0; attempt < 3; attempt++) {
        const current = await store.get<Sandbox>('Sandbox', {
          namespace: sb.metadata.namespace ?? 'default',
          name: sb.metadata.name,
        });
        if (!current) return;
        try {
          await store.updateStatus<Sandbox>({
            ...current,
            status: { ...current.status, lastActivityTimestamp: at },
          });
          return;
        } catch (err) {
          if (!isPlatformError(err) || err.code !== 'CONFLICT') return;
        }
      }
    },
  };
}

export type SandboxService = ReturnType<typeof createSandboxService>;

export function requireRunning(sb: Sandbox): void {
  const phase = sb.metadata.deletionTimestamp ? 'Deleting' : (sb.status?.phase ?? 'Creating');
  if (phase === 'Running' && (sb.spec.desiredState ?? 'Running') === 'Running') return;
  const hint =
    phase === 'Stopped'
      ? `; resume it with \`agenttier sandbox resume ${sb.metadata.name}\``
      : phase === 'Creating'
        ? '; wait for it with `agenttier sandbox get` or `--wait`'
        : '';
  throw new PlatformError(
    'SANDBOX_NOT_RUNNING',
    `sandbox "${sb.metadata.name}" is not running (phase ${phase})${hint}`,
  );
}
