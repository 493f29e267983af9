import type { Watch } from '@kubernetes/client-node';
import { statusOf } from './api-errors.ts';

/** The fields of a Kubernetes object the cache needs. */
export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    uid?: string;
    deletionTimestamp?: string | Date;
  };
}

export interface KubeList<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

export type ReflectorEventType = 'ADDED' | 'MODIFIED' | 'DELETED';
export type ReflectorListener<T> = (type: ReflectorEventType, obj: T) => void;

export interface ReflectorOpts<T extends KubeObject> {
  /** For logs and errors: "sandboxes". */
  name: string;
  /** One page of the list; called with `continue` until there is none. */
  list: (page: { limit: number; continue?: string }) => Promise<KubeList<T>>;
  watch: Watch;
  /** API path of the collection, e.g. /apis/agenttier.io/v1alpha1/sandboxes. */
  watchPath: string;
  labelSelector?: string;
  /** Full relist period; heals anything a watch missed. @default 300000 */
  resyncMs?: number;
  /** Server-side watch timeout (the server closes cleanly; we re-watch from the last version). @default 20–28 s */
  watchTimeoutSeconds?: () => number;
  /** Max backoff after a failed list or watch. @default 30000 */
  maxBackoffMs?: number;
  pageSize?: number;
  onError?: (err: unknown, during: 'list' | 'watch') => void;
  /** Applied to every object before it is cached (e.g. dropping managedFields, setting kind). */
  transform?: (obj: T) => T;
}

/** ns/name, the cache key. */
export function objectKey(obj: KubeObject): string {
  return `${obj.metadata?.namespace ?? ''}/${obj.metadata?.name ?? ''}`;
}

/**
 * Orders resourceVersions. Kubernetes calls them opaque, but every real server (etcd) and our fake use
 * one increasing integer; when either is not an integer we can only tell "different", treated as newer.
 */
export function isNewer(candidate: string | undefined, than: string | undefined): boolean {
  if (candidate === undefined) return false;
  if (than === undefined) return true;
  if (/^\d+$/.test(candidate) && /^\d+$/.test(than)) return BigInt(candidate) > BigInt(than);
  return candidate !== than;
}

function isExpired(err: unknown): boolean {
  return statusOf(err) === 410;
}

/**
 * client-go's Reflector + Indexer for one collection: list, then watch from the list's
 * resourceVersion; on `410 Gone` relist and emit the difference (DELETED for objects that went away
 * while we were not watching); on any other failure back off and watch again from the last version
 * seen (client-node's own ListWatch stops for good on such errors); relist periodically.
 */
export class Reflector<T extends KubeObject> {
  private readonly cache = new Map<string, T>();
  private readonly listeners = new Set<ReflectorListener<T>>();
  private readonly waiters = new Set<() => void>();
  private lastRv: string | undefined;
  private abort: AbortController | undefined;
  private stopped = false;
  private synced = false;
  private backoffMs = 0;
  private resyncTimer: NodeJS.Timeout | undefined;
  private retryTimer: NodeJS.Timeout | undefined;
  private generation = 0;
  /** Relists done (the first included); tests read it to see that a 410 caused one. */
  relists = 0;

  constructor(private readonly opts: ReflectorOpts<T>) {}

  get hasSynced(): boolean {
    return this.synced;
  }

  get resourceVersion(): string | undefined {
    return this.lastRv;
  }

  /** Lists (retrying until it works or `stop`), then keeps watching in the background. */
  async start(): Promise<void> {
    this.stopped = false;
    for (;;) {
      try {
        await this.relist();
        break;
      } catch (err) {
        if (this.stopped) return;
        this.opts.onError?.(err, 'list');
        await this.sleep(this.nextBackoff());
      }
    }
    this.backoffMs = 0;
    this.synced = true;
    void this.watchLoop();
    const resync = this.opts.resyncMs ?? 300_000;
    if (resync > 0) {
      this.resyncTimer = setInterval(() => void this.resync(), resync);
      this.resyncTimer.unref();
    }
  }

  stop(): void {
    this.stopped = true;
    this.generation++;
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.abort?.abort();
    this.abort = undefined;
    this.notifyWaiters();
  }

  on(listener: ReflectorListener<T>): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get(key: string): T | undefined {
    return this.cache.get(key);
  }

  values(): T[] {
    return [...this.cache.values()];
  }

  /**
   * Resolves once `until()` holds for the cache or `timeoutMs` passes (returns whether it held). Writers
   * use it to read their own writes: the cache then matches what the API server answered them.
   */
  waitFor(until: () => boolean, timeoutMs: number): Promise<boolean> {
    if (until()) return Promise.resolve(true);
    if (this.stopped || !this.synced) return Promise.resolve(false);
    return new Promise((resolve) => {
      const check = () => {
        if (!until()) return;
        cleanup();
        resolve(true);
      };
      const timer = setTimeout(() => {
        cleanup();
        resolve(until());
      }, timeoutMs);
      timer.unref();
      const cleanup = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
    });
  }

  /** Puts a written object in the cache when the watch has not delivered it (or anything newer) yet. */
  upsertIfNewer(obj: T): void {
    const key = objectKey(obj);
    const current = this.cache.get(key);
    if (current && !isNewer(obj.metadata?.resourceVersion, current.metadata?.resourceVersion)) return;
    this.cache.set(key, obj);
    this.notifyWaiters();
  }

  /** Drops an object we deleted; the DELETED event that follows finds nothing and is still emitted. */
  forget(key: string, uid?: string): void {
    const current = this.cache.get(key);
    if (current && (!uid || current.metadata?.uid === uid)) this.cache.delete(key);
    this.notifyWaiters();
  }

  private emit(type: ReflectorEventType, obj: T): void {
    for (const l of this.listeners) {
      try {
        l(type, obj);
      } catch {
        // A failing listener must not stop the stream for the others.
      }
    }
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }

  private nextBackoff(): number {
    const max = this.opts.maxBackoffMs ?? 30_000;
    this.backoffMs = this.backoffMs ? Math.min(this.backoffMs * 2, max) : 200;
    // Jitter so replicas do not hammer a recovering API server in step.
    return this.backoffMs * (0.8 + Math.random() * 0.4);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.retryTimer = setTimeout(resolve, ms);
      this.retryTimer.unref?.();
    });
  }

  private async listAll(): Promise<KubeList<T>> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv: string | undefined;
    do {
      const page = await this.opts.list({
        limit: this.opts.pageSize ?? 500,
        ...(cont ? { continue: cont } : {}),
      });
      items.push(...page.items);
      rv = page.metadata?.resourceVersion;
      cont = page.metadata?.continue || undefined;
    } while (cont);
    return { items, metadata: rv ? { resourceVersion: rv } : {} };
  }

  /** Replaces the cache with a fresh list and emits what changed. */
  private async relist(): Promise<void> {
    const list = await this.listAll();
    this.relists++;
    const fresh = new Map<string, T>();
    for (const raw of list.items) {
      const item = this.opts.transform ? this.opts.transform(raw) : raw;
      fresh.set(objectKey(item), item);
    }
    for (const [key, old] of this.cache) {
      if (!fresh.has(key)) {
        this.cache.delete(key);
        this.emit('DELETED', old);
      }
    }
    for (const [key, item] of fresh) {
      const old = this.cache.get(key);
      if (old && old.metadata?.resourceVersion === item.metadata?.resourceVersion) continue;
      if (old && !isNewer(item.metadata?.resourceVersion, old.metadata?.resourceVersion)) continue; // written-through newer
      this.cache.set(key, item);
      this.emit(old ? 'MODIFIED' : 'ADDED', item);
    }
    this.lastRv = list.metadata?.resourceVersion;
    this.notifyWaiters();
  }

  private async resync(): Promise<void> {
    if (this.stopped) return;
    try {
      await this.relist();
    } catch (err) {
      this.opts.onError?.(err, 'list');
    }
  }

  private apply(type: string, obj: T): void {
    const rv = obj.metadata?.resourceVersion;
    if (rv) this.lastRv = rv;
    if (type === 'BOOKMARK') return;
    const key = objectKey(obj);
    if (type === 'DELETED') {
      this.cache.delete(key);
      this.emit('DELETED', obj);
    } else if (type === 'ADDED' || type === 'MODIFIED') {
      const old = this.cache.get(key);
      if (old && !isNewer(rv, old.metadata?.resourceVersion)) {
        // Already in the cache (written through): keep it, but listeners still hear about the change.
        if (old.metadata?.resourceVersion === rv) this.emit(type, obj);
        return;
      }
      this.cache.set(key, obj);
      this.emit(type, obj);
    }
    this.notifyWaiters();
  }

  /** One watch at a time; each pass ends when the stream ends, then the loop decides what comes next. */
  private async watchLoop(): Promise<void> {
    const gen = this.generation;
    while (!this.stopped && gen === this.generation) {
      const outcome = await this.watchOnce();
      if (this.stopped || gen !== this.generation) return;
      if (outcome === 'expired') {
        try {
          await this.relist();
          this.backoffMs = 0;
        } catch (err) {
          this.opts.onError?.(err, 'list');
          await this.sleep(this.nextBackoff());
          this.lastRv = undefined;
        }
        continue;
      }
      if (outcome === 'failed') await this.sleep(this.nextBackoff());
      else this.backoffMs = 0;
      if (this.lastRv === undefined) {
        try {
          await this.relist();
        } catch (err) {
          this.opts.onError?.(err, 'list');
          await this.sleep(this.nextBackoff());
        }
      }
    }
  }

  private watchOnce(): Promise<'closed' | 'expired' | 'failed'> {
    return new Promise((resolve) => {
      let expired = false;
      let delivered = false;
      const timeout = this.opts.watchTimeoutSeconds?.() ?? 20 + Math.floor(Math.random() * 8);
      const query: Record<string, string | number | boolean | undefined> = {
        allowWatchBookmarks: true,
        timeoutSeconds: timeout,
        resourceVersion: this.lastRv,
        labelSelector: this.opts.labelSelector,
      };
      const onEvent = (type: string, obj: T) => {
        if (type === 'ERROR') {
          const code = (obj as { code?: number }).code;
          if (code === 410) expired = true;
          this.abort?.abort();
          return;
        }
        delivered = true;
        this.apply(type, this.opts.transform && type !== 'BOOKMARK' ? this.opts.transform(obj) : obj);
      };
      const onDone = (err: unknown) => {
        if (expired || isExpired(err)) {
          this.lastRv = undefined;
          resolve('expired');
          return;
        }
        if (err && !this.stopped && !isTimeout(err)) {
          this.opts.onError?.(err, 'watch');
          resolve(delivered ? 'closed' : 'failed');
          return;
        }
        resolve('closed');
      };
      this.opts.watch
        .watch(this.opts.watchPath, query, onEvent, onDone)
        .then((ctrl) => {
          this.abort = ctrl;
          if (this.stopped) ctrl.abort();
        })
        .catch((err: unknown) => onDone(err));
    });
  }
}

/** client-node aborts a watch after 30 s without data; that is an ordinary end, not a failure. */
function isTimeout(err: unknown): boolean {
  return err instanceof Error && (err.name === 'TimeoutError' || err.name === 'AbortError');
}
