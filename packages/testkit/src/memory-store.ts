import { randomUUID } from 'node:crypto';
import type { Resource, ResourceKind } from '@agenttier/contract';
import { KINDS, PlatformError } from '@agenttier/contract';
import type { ListOptions, ObjectKey, Store, WatchEvent } from '@agenttier/core';

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

export interface MemoryStoreOpts {
  now?: () => Date;
}

type StoreOp = 'get' | 'list' | 'create' | 'update' | 'updateStatus' | 'delete';

/**
 * The Store port in memory, with the semantics of the real ones (runStoreContract checks it): a global
 * resourceVersion, optimistic concurrency, spec/status split, generation on spec changes, deletion
 * through finalizers, synchronous watch events. For controller tests in `core` that need no SQLite or
 * API server; `failNext` injects a transient failure of one operation (a store read that fails once).
 */
export class MemoryStore implements Store {
  private readonly objects = new Map<string, Resource>();
  private readonly watchers = new Map<ResourceKind, Set<(event: WatchEvent) => void>>();
  private readonly failures: Array<{ op: StoreOp; error: unknown; remaining: number }> = [];
  private readonly now: () => Date;
  private revision = 0;

  constructor(opts: MemoryStoreOpts = {}) {
    this.now = opts.now ?? (() => new Date());
  }

  /** The next `times` calls of `op` throw `error` instead of running. */
  failNext(op: StoreOp, error: unknown, times = 1): void {
    this.failures.push({ op, error, remaining: times });
  }

  private check(op: StoreOp): void {
    const f = this.failures.find((x) => x.op === op && x.remaining > 0);
    if (!f) return;
    f.remaining--;
    throw f.error;
  }

  private ns(kind: ResourceKind, namespace: string | undefined): string {
    return KINDS[kind].namespaced ? (namespace ?? 'default') : '';
  }

  private keyOf(kind: ResourceKind, namespace: string, name: string): string {
    return `${kind}/${namespace}/${name}`;
  }

  private emit(event: WatchEvent): void {
    for (const handler of this.watchers.get(event.object.kind) ?? []) {
      try {
        handler(structuredClone(event));
      } catch {
        // A failing watcher must not break writers.
      }
    }
  }

  async get<T extends Resource>(kind: ResourceKind, key: ObjectKey): Promise<T | undefined> {
    this.check('get');
    const obj = this.objects.get(this.keyOf(kind, this.ns(kind, key.namespace), key.name));
    return obj ? (structuredClone(obj) as T) : undefined;
  }

  async list<T extends Resource>(kind: ResourceKind, opts: ListOptions = {}): Promise<T[]> {
    this.check('list');
    const scoped = opts.namespace !== undefined && KINDS[kind].namespaced;
    return [...this.objects.values()]
      .filter((o) => o.kind === kind)
      .filter((o) => !scoped || (o.metadata.namespace ?? '') === opts.namespace)
      .filter((o) => Object.entries(opts.labels ?? {}).every(([k, v]) => o.metadata.labels?.[k] === v))
      .sort((a, b) =>
        `${a.metadata.namespace ?? ''}/${a.metadata.name}`.localeCompare(
          `${b.metadata.namespace ?? ''}/${b.metadata.name}`,
        ),
      )
      .map((o) => structuredClone(o) as T);
  }

  async create<T extends Resource>(obj: T): Promise<T> {
    this.check('create');
    const namespace = this.ns(obj.kind, obj.metadata.namespace);
    const key = this.keyOf(obj.kind, namespace, obj.metadata.name);
    if (this.objects.has(key)) {
      throw new PlatformError(
        'ALREADY_EXISTS',
        `${KINDS[obj.kind].singular} "${obj.metadata.name}" already exists${namespace ? ` in namespace "${namespace}"` : ''}`,
      );
    }
    const out = structuredClone(obj);
    out.metadata = {
      ...out.metadata,
      ...(namespace ? { namespace } : {}),
      uid: randomUUID(),
      resourceVersion: String(++this.revision),
      generation: 1,
      creationTimestamp: rfc3339(this.now()),
    };
    if (!namespace) delete out.metadata.namespace;
    this.objects.set(key, out);
    this.emit({ type: 'ADDED', object: out });
    return structuredClone(out);
  }

  private replace<T extends Resource>(obj: T, part: 'main' | 'status'): T {
    const namespace = this.ns(obj.kind, obj.metadata.namespace);
    const key = this.keyOf(obj.kind, namespace, obj.metadata.name);
    const current = this.objects.get(key) as T | undefined;
    if (!current) {
      throw new PlatformError('NOT_FOUND', `${KINDS[obj.kind].singular} "${obj.metadata.name}" not found`);
    }
    if (
      obj.metadata.resourceVersion !== undefined &&
      obj.metadata.resourceVersion !== current.metadata.resourceVersion
    ) {
      throw new PlatformError(
        'CONFLICT',
        `the object has been modified (resourceVersion ${obj.metadata.resourceVersion} is stale, current is ${current.metadata.resourceVersion}); read it again and retry`,
      );
    }
    const rv = String(++this.revision);
    let next: T;
    if (part === 'status') {
      next = { ...structuredClone(current), status: structuredClone(obj.status) };
      next.metadata = { ...next.metadata, resourceVersion: rv };
    } else {
      const specChanged = JSON.stringify(current.spec) !== JSON.stringify(obj.spec);
      next = {
        ...structuredClone(obj),
        ...(current.status !== undefined ? { status: structuredClone(current.status) } : {}),
      };
      next.metadata = {
        ...next.metadata,
        uid: current.metadata.uid,
        creationTimestamp: current.metadata.creationTimestamp,
        resourceVersion: rv,
        generation: (current.metadata.generation ?? 1) + (specChanged ? 1 : 0),
        ...(current.metadata.deletionTimestamp
          ? { deletionTimestamp: current.metadata.deletionTimestamp }
          : {}),
      };
      if (!namespace) delete next.metadata.namespace;
      else next.metadata.namespace = namespace;
      if (next.metadata.deletionTimestamp && !(next.metadata.finalizers ?? []).length) {
        this.objects.delete(key);
        this.emit({ type: 'DELETED', object: next });
        return structuredClone(next);
      }
    }
    this.objects.set(key, next);
    this.emit({ type: 'MODIFIED', object: next });
    return structuredClone(next);
  }

  async update<T extends Resource>(obj: T): Promise<T> {
    this.check('update');
    return this.replace(obj, 'main');
  }

  async updateStatus<T extends Resource>(obj: T): Promise<T> {
    this.check('updateStatus');
    return this.replace(obj, 'status');
  }

  async delete(kind: ResourceKind, key: ObjectKey): Promise<void> {
    this.check('delete');
    const namespace = this.ns(kind, key.namespace);
    const k = this.keyOf(kind, namespace, key.name);
    const current = this.objects.get(k);
    if (!current) throw new PlatformError('NOT_FOUND', `${KINDS[kind].singular} "${key.name}" not found`);
    if ((current.metadata.finalizers ?? []).length > 0) {
      if (current.metadata.deletionTimestamp) return; // already deleting: idempotent
      const next = {
        ...current,
        metadata: {
          ...current.metadata,
          deletionTimestamp: rfc3339(this.now()),
          resourceVersion: String(++this.revision),
        },
      };
      this.objects.set(k, next);
      this.emit({ type: 'MODIFIED', object: next });
      return;
    }
    this.objects.delete(k);
    this.emit({ type: 'DELETED', object: current });
  }

  watch(kind: ResourceKind, handler: (event: WatchEvent) => void): () => void {
    const set = this.watchers.get(kind) ?? new Set();
    set.add(handler);
    this.watchers.set(kind, set);
    return () => set.delete(handler);
  }

  async close(): Promise<void> {
    this.watchers.clear();
  }
}
