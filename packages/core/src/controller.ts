import type { Resource, Sandbox } from '@agenttier/contract';
import type { Logger, Runtime, Store } from './ports.ts';
import { systemClock } from './ports.ts';
import type { Clock } from './ports.ts';
import { createSandboxReconciler, keyOf } from './sandbox-reconciler.ts';
import type { ReconcilerDeps } from './sandbox-reconciler.ts';
import { createWorkQueue } from './work-queue.ts';

export interface ControllerOpts {
  store: Store;
  runtime: Runtime;
  logger: Logger;
  clock?: Clock;
  /** Sandboxes reconciled at once. @default 4 */
  concurrency?: number;
  /** Full relist + orphan collection period. @default 30000 */
  resyncIntervalMs?: number;
  onTransition?: ReconcilerDeps['onTransition'];
  onEvent?: ReconcilerDeps['onEvent'];
}

export interface Controller {
  /** Lists everything, enqueues it and collects orphans; resolves once the first pass is queued. */
  start(): Promise<void>;
  /** Waits until the queue is drained (tests). */
  idle(): Promise<void>;
  /** Enqueue one sandbox now (the router calls this after a write to skip the watch latency). */
  enqueue(namespace: string, name: string): void;
  collectOrphans(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * The control loop: watch events and periodic resyncs only enqueue keys; the reconciler reads the
 * current state itself. After a crash, `start` relists and collects children nobody owns, so the world
 * converges from whatever half-made state the crash left.
 */
export function createController(opts: ControllerOpts): Controller {
  const logger = opts.logger.child({ component: 'controller' });
  const own = recordOwnWrites(opts.store);
  const reconcile = createSandboxReconciler({
    store: own.store,
    runtime: opts.runtime,
    clock: opts.clock ?? systemClock,
    logger,
    ...(opts.onTransition ? { onTransition: opts.onTransition } : {}),
    ...(opts.onEvent ? { onEvent: opts.onEvent } : {}),
  });
  const queue = createWorkQueue({
    concurrency: opts.concurrency ?? 4,
    process: reconcile,
    // The reconciler has logged the error; this line, of the same pass, says when the key comes back.
    onError: (key, _err, retryInMs, { reconcileId }) =>
      logger.debug({ sandbox: key, reconcileId, retryInMs }, 'reconcile requeued after a throw'),
  });
  let unwatch: (() => void) | undefined;
  let resync: NodeJS.Timeout | undefined;

  async function relist() {
    const items = await opts.store.list<Sandbox>('Sandbox');
    for (const sb of items) queue.add(keyOf(sb));
  }

  async function collectOrphans(): Promise<number> {
    // Runtime first, store second: a sandbox created between the two reads is in the store list,
    // so its brand-new container is never mistaken for an orphan.
    const owned = await opts.runtime.listOwned();
    const sandboxes = await opts.store.list<Sandbox>('Sandbox');
    const live = new Set(sandboxes.map((s) => s.metadata.uid));
    let removed = 0;
    for (const child of owned) {
      if (live.has(child.sandboxUid)) continue;
      logger.info({ child: child.name, type: child.type }, 'removing orphan');
      await opts.runtime.removeOwned(child).catch((err: unknown) => {
        logger.warn({ child: child.name, err: String(err) }, 'orphan removal failed');
      });
      removed++;
    }
    return removed;
  }

  return {
    async start() {
      unwatch = opts.store.watch('Sandbox', (event) => {
        // Deferred: a store may emit inside the write call, before the writer has learnt the new
        // resourceVersion. The controller's own writes (status, finalizer) must not re-trigger it, or
        // every failed attempt's status write would start the next attempt at once and defeat the
        // backoff; the reconciler already requeued itself for whatever it still has to do.
        setImmediate(() => {
          if (event.type !== 'DELETED' && own.consume(event.object)) return;
          queue.add(keyOf(event.object));
        });
      });
      await relist();
      await collectOrphans().catch((err: unknown) =>
        logger.warn({ err: String(err) }, 'orphan collection failed'),
      );
      const interval = opts.resyncIntervalMs ?? 30_000;
      resync = setInterval(() => {
        void relist().catch((err: unknown) => logger.warn({ err: String(err) }, 'relist failed'));
        void collectOrphans().catch((err: unknown) =>
          logger.warn({ err: String(err) }, 'orphan collection failed'),
        );
      }, interval);
      resync.unref();
    },
    idle: () => queue.idle(),
    enqueue: (namespace, name) => queue.add(`${namespace}/${name}`),
    collectOrphans,
    async stop() {
      unwatch?.();
      if (resync) clearInterval(resync);
      await queue.stop();
    },
  };
}

/**
 * Wraps the store so the resourceVersions written through it are remembered until their watch event
 * arrives. Bounded: a version whose event never comes (a relist replaced the watch) ages out.
 */
function recordOwnWrites(store: Store): { store: Store; consume(obj: Resource): boolean } {
  const versions = new Set<string>();
  const remember = <T extends Resource>(written: T): T => {
    versions.add(versionKey(written));
    if (versions.size > 10_000) versions.delete(versions.values().next().value!);
    return written;
  };
  const wrapped: Store = {
    get: (kind, key) => store.get(kind, key),
    list: (kind, opts) => store.list(kind, opts),
    create: (obj) => store.create(obj),
    update: async (obj) => remember(await store.update(obj)),
    updateStatus: async (obj) => remember(await store.updateStatus(obj)),
    delete: (kind, key) => store.delete(kind, key),
    watch: (kind, handler) => store.watch(kind, handler),
    close: () => store.close(),
  };
  return { store: wrapped, consume: (obj) => versions.delete(versionKey(obj)) };
}

function versionKey(obj: Resource): string {
  return `${keyOf(obj)}@${obj.metadata.resourceVersion ?? ''}`;
}
