import type { KubeObject, ReflectorListener } from './reflector.ts';
import type { Reflector } from './reflector.ts';

/** What the store reads from: one cluster-wide Reflector, or a ReflectorSet of namespaced ones. */
export interface ObjectCache<T extends KubeObject> {
  readonly hasSynced: boolean;
  start(): Promise<void>;
  stop(): void;
  on(listener: ReflectorListener<T>): () => void;
  /** By `namespace/name` (`/name` for cluster-scoped objects). */
  get(key: string): T | undefined;
  values(): T[];
  waitFor(until: () => boolean, timeoutMs: number): Promise<boolean>;
  upsertIfNewer(obj: T): void;
  forget(key: string, uid?: string): void;
  /** Whether objects of this namespace are cached (always, for a cluster-wide cache). */
  covers(namespace: string | undefined): boolean;
}

/** A cluster-wide Reflector as an ObjectCache. */
export function wholeCluster<T extends KubeObject>(r: Reflector<T>): ObjectCache<T> {
  return Object.assign(r, { covers: () => true });
}

/**
 * One Reflector per namespace behind one cache: a namespace-scoped operator lists and watches only
 * the namespaces it serves (a Role in each is enough), never the whole cluster.
 */
export class ReflectorSet<T extends KubeObject> implements ObjectCache<T> {
  constructor(private readonly members: ReadonlyMap<string, Reflector<T>>) {}

  private of(key: string): Reflector<T> | undefined {
    return this.members.get(key.slice(0, key.indexOf('/')));
  }

  get hasSynced(): boolean {
    return [...this.members.values()].every((r) => r.hasSynced);
  }

  async start(): Promise<void> {
    await Promise.all([...this.members.values()].map((r) => r.start()));
  }

  stop(): void {
    for (const r of this.members.values()) r.stop();
  }

  on(listener: ReflectorListener<T>): () => void {
    const offs = [...this.members.values()].map((r) => r.on(listener));
    return () => offs.forEach((off) => off());
  }

  get(key: string): T | undefined {
    return this.of(key)?.get(key);
  }

  values(): T[] {
    return [...this.members.values()].flatMap((r) => r.values());
  }

  /** True as soon as a change in any namespace makes `until` true. */
  async waitFor(until: () => boolean, timeoutMs: number): Promise<boolean> {
    if (until()) return true;
    return Promise.race([...this.members.values()].map((r) => r.waitFor(until, timeoutMs)));
  }

  upsertIfNewer(obj: T): void {
    this.members.get(obj.metadata?.namespace ?? '')?.upsertIfNewer(obj);
  }

  forget(key: string, uid?: string): void {
    this.of(key)?.forget(key, uid);
  }

  covers(namespace: string | undefined): boolean {
    return namespace !== undefined && this.members.has(namespace);
  }
}
