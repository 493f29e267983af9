// The fake's etcd: objects per storage key, one global revision counter (every write bumps it, like
// an etcd revision shared by all resources), a uid index for the garbage collector, and a bounded
// event history that watches replay from. Compaction drops history so that old resourceVersions
// answer 410 Expired.
import type { JsonObject } from './json.ts';
import { getIn, str } from './json.ts';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface StoreEvent {
  rv: number;
  key: string;
  type: EventType;
  /** The object after the change (for DELETED: its last state, carrying the deletion's revision). */
  object: JsonObject;
  /** The object before the change, so that watches can turn selector transitions into ADDED/DELETED. */
  prev?: JsonObject;
}

export interface StorageOpts {
  /** Events kept for watch replay before the oldest are compacted away. @default 10000 */
  historyLimit?: number;
}

function slot(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Storage {
  private rv = 0;
  private readonly tables = new Map<string, Map<string, JsonObject>>();
  private readonly uids = new Map<string, { key: string; slot: string }>();
  private history: StoreEvent[] = [];
  private compactedRv = 0;
  private readonly listeners = new Set<(ev: StoreEvent) => void>();
  private readonly historyLimit: number;

  constructor(opts: StorageOpts = {}) {
    this.historyLimit = opts.historyLimit ?? 10_000;
  }

  currentRv(): number {
    return this.rv;
  }

  /** The newest revision that can no longer be watched from. */
  compactedRevision(): number {
    return this.compactedRv;
  }

  oldestAvailableRv(): number {
    return this.compactedRv + 1;
  }

  private table(key: string): Map<string, JsonObject> {
    let t = this.tables.get(key);
    if (!t) {
      t = new Map();
      this.tables.set(key, t);
    }
    return t;
  }

  /** Returns the stored object itself: callers must clone before changing it. */
  get(key: string, ns: string | undefined, name: string): JsonObject | undefined {
    return this.tables.get(key)?.get(slot(ns, name));
  }

  list(key: string, ns?: string): JsonObject[] {
    const t = this.tables.get(key);
    if (!t) return [];
    const out: JsonObject[] = [];
    for (const [s, o] of t) if (ns === undefined || s.startsWith(`${ns}/`)) out.push(o);
    return out.sort((a, b) => sortKey(a).localeCompare(sortKey(b)));
  }

  keys(): string[] {
    return [...this.tables.keys()];
  }

  byUid(uid: string): { key: string; object: JsonObject } | undefined {
    const ref = this.uids.get(uid);
    if (!ref) return undefined;
    const object = this.tables.get(ref.key)?.get(ref.slot);
    return object ? { key: ref.key, object } : undefined;
  }

  /** Stores `obj` (ADDED if new, else MODIFIED) at a new revision, written into its metadata. */
  put(key: string, obj: JsonObject): JsonObject {
    const meta = obj.metadata as JsonObject;
    const ns = str(meta.namespace);
    const name = str(meta.name) ?? '';
    const s = slot(ns, name);
    const t = this.table(key);
    const prev = t.get(s);
    const rv = ++this.rv;
    meta.resourceVersion = String(rv);
    t.set(s, obj);
    const uid = str(meta.uid);
    if (uid) this.uids.set(uid, { key, slot: s });
    this.emit({ rv, key, type: prev ? 'MODIFIED' : 'ADDED', object: obj, prev });
    return obj;
  }

  remove(key: string, obj: JsonObject): JsonObject {
    const meta = obj.metadata as JsonObject;
    const s = slot(str(meta.namespace), str(meta.name) ?? '');
    const t = this.table(key);
    const prev = t.get(s);
    if (!prev) return obj;
    t.delete(s);
    const uid = str(meta.uid);
    if (uid) this.uids.delete(uid);
    const rv = ++this.rv;
    const last = { ...obj, metadata: { ...meta, resourceVersion: String(rv) } };
    this.emit({ rv, key, type: 'DELETED', object: last, prev });
    return last;
  }

  private emit(ev: StoreEvent): void {
    this.history.push(ev);
    if (this.history.length > this.historyLimit) {
      const drop = this.history.length - this.historyLimit;
      this.compactedRv = this.history[drop - 1]?.rv ?? this.compactedRv;
      this.history = this.history.slice(drop);
    }
    for (const l of this.listeners) l(ev);
  }

  /** Events after `rv`, or undefined when `rv` has been compacted away. */
  eventsAfter(rv: number): StoreEvent[] | undefined {
    if (rv < this.compactedRv) return undefined;
    return this.history.filter((e) => e.rv > rv);
  }

  /** Forgets history up to and including `rv` (default: everything so far). */
  compact(rv = this.rv): void {
    this.compactedRv = Math.max(this.compactedRv, rv);
    this.history = this.history.filter((e) => e.rv > this.compactedRv);
  }

  subscribe(fn: (ev: StoreEvent) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }
}

function sortKey(o: JsonObject): string {
  return `${str(getIn(o, ['metadata', 'namespace'])) ?? ''}/${str(getIn(o, ['metadata', 'name'])) ?? ''}`;
}
