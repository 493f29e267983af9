// The controllers a bare apiserver does not have but every cluster runs, reduced to what an
// operator can observe: the garbage collector (owner references; Background, Foreground and Orphan
// propagation; blockOwnerDeletion), the namespace controller (Terminating namespaces are emptied,
// then removed), the CRD controllers (Established, and cleanup of custom resources on CRD deletion)
// and the serviceaccount controller (every namespace gets `default`). They run asynchronously after
// writes, like the real ones, with a small configurable delay.
import { clone, getIn, isObject, str } from './json.ts';
import type { JsonObject } from './json.ts';
import {
  CRD_CLEANUP_FINALIZER,
  CRD_STORAGE_KEY,
  establishedStatus,
  isEstablished,
  typeFromCrd,
} from './crd.ts';
import type { Registry } from './registry.ts';
import type { ResourceType } from './resource-type.ts';
import { internalOptions } from './rest.ts';
import type { Rest } from './rest.ts';
import type { Storage } from './storage.ts';
import { nowRfc3339 } from './time.ts';

export interface ControllerOpts {
  /** Delay before the controllers react to a write. @default 5 */
  delayMs?: number;
  /** Fills an active namespace with what per-namespace controllers create (the default ServiceAccount...). */
  namespaceDefaults?: (namespace: string) => void;
}

interface OwnerRef {
  uid: string;
  apiVersion: string;
  kind: string;
  blockOwnerDeletion: boolean;
}

function ownerRefs(o: JsonObject): OwnerRef[] {
  const refs = getIn(o, ['metadata', 'ownerReferences']);
  if (!Array.isArray(refs)) return [];
  return refs.filter(isObject).map((r) => ({
    uid: str(r.uid) ?? '',
    apiVersion: str(r.apiVersion) ?? '',
    kind: str(r.kind) ?? '',
    blockOwnerDeletion: r.blockOwnerDeletion === true,
  }));
}

function finalizers(o: JsonObject): string[] {
  const f = getIn(o, ['metadata', 'finalizers']);
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

const deleting = (o: JsonObject) => Boolean(getIn(o, ['metadata', 'deletionTimestamp']));
const nsOf = (o: JsonObject) => str(getIn(o, ['metadata', 'namespace']));
const nameOf = (o: JsonObject) => str(getIn(o, ['metadata', 'name'])) ?? '';

export class Controllers {
  private timer: NodeJS.Timeout | undefined;
  private paused = false;
  private running = false;
  private readonly delayMs: number;
  private readonly namespaceDefaults: (namespace: string) => void;

  constructor(
    private readonly rest: Rest,
    private readonly storage: Storage,
    private readonly registry: Registry,
    opts: ControllerOpts = {},
  ) {
    this.delayMs = opts.delayMs ?? 5;
    this.namespaceDefaults = opts.namespaceDefaults ?? (() => {});
  }

  schedule(): void {
    if (this.paused || this.timer || this.running) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.runNow();
    }, this.delayMs);
  }

  pause(): void {
    this.paused = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  resume(): void {
    this.paused = false;
    this.schedule();
  }

  stop(): void {
    this.pause();
  }

  /** Runs every controller until nothing changes (bounded, in case of a livelock bug). */
  runNow(): void {
    if (this.running) return;
    this.running = true;
    try {
      for (let i = 0; i < 50; i++) {
        const before = this.storage.currentRv();
        this.syncCrds();
        this.syncNamespaces();
        this.collectGarbage();
        if (this.storage.currentRv() === before) break;
      }
    } finally {
      this.running = false;
    }
  }

  private typeForStorageKey(key: string): ResourceType | undefined {
    return this.registry.byStorageKey(key).find((t) => !t.toView) ?? this.registry.byStorageKey(key)[0];
  }

  private target(t: ResourceType, o: JsonObject) {
    return { type: t, version: t.storageVersion, namespace: nsOf(o), name: nameOf(o) };
  }

  /** An internal write through the normal update path (finalizer removal deletes, etc.). */
  private mutate(
    t: ResourceType,
    o: JsonObject,
    manager: string,
    fn: (next: JsonObject) => void,
    subresource?: string,
  ): void {
    const current = this.storage.get(t.storageKey, nsOf(o), nameOf(o));
    if (!current) return;
    const next = clone(current);
    fn(next);
    this.rest.commitUpdate(
      { ...this.target(t, current), subresource },
      current,
      next,
      internalOptions(manager),
    );
  }

  private deleteObject(
    t: ResourceType,
    o: JsonObject,
    policy: 'Background' | 'Foreground',
    manager: string,
  ): void {
    if (!this.storage.get(t.storageKey, nsOf(o), nameOf(o))) return;
    this.rest.delete(this.target(t, o), { propagationPolicy: policy }, internalOptions(manager));
  }

  // --- CRDs ---------------------------------------------------------------------------------------

  private syncCrds(): void {
    const crdType = this.registry.get('apiextensions.k8s.io', 'customresourcedefinitions');
    if (!crdType) return;
    const live = new Set<string>();
    for (const crd of this.storage.list(CRD_STORAGE_KEY)) {
      const t = typeFromCrd(crd);
      if (t) live.add(`${t.group}/${t.plural}`);
      if (!deleting(crd)) {
        if (!isEstablished(crd) || !finalizers(crd).includes(CRD_CLEANUP_FINALIZER)) {
          this.mutate(crdType, crd, 'kube-apiserver', (n) => {
            const m = n.metadata as JsonObject;
            m.finalizers = [...new Set([...finalizers(n), CRD_CLEANUP_FINALIZER])];
          });
          this.mutate(
            crdType,
            crd,
            'kube-apiserver',
            (n) => (n.status = establishedStatus(n, nowRfc3339())),
            'status',
          );
        }
        const fresh = this.storage.get(CRD_STORAGE_KEY, undefined, nameOf(crd));
        if (fresh && isEstablished(fresh) && t) this.registry.set(t);
        continue;
      }
      // Terminating: stop accepting creates (rest.ts checks), delete every instance, then let go.
      if (t) {
        this.registry.set(t);
        const remaining = this.storage.list(t.storageKey);
        for (const cr of remaining)
          if (!deleting(cr)) this.deleteObject(t, cr, 'Background', 'apiextensions-controller');
        if (this.storage.list(t.storageKey).length > 0) continue;
      }
      this.mutate(crdType, crd, 'apiextensions-controller', (n) => {
        (n.metadata as JsonObject).finalizers = finalizers(n).filter((f) => f !== CRD_CLEANUP_FINALIZER);
      });
    }
    for (const t of this.registry.all()) {
      if (t.crdName && !live.has(`${t.group}/${t.plural}`)) this.registry.remove(t.group, t.plural);
      else if (t.crdName && !this.storage.get(CRD_STORAGE_KEY, undefined, t.crdName))
        this.registry.remove(t.group, t.plural);
    }
  }

  // --- Namespaces ---------------------------------------------------------------------------------

  private namespacedKeys(): Array<[string, ResourceType]> {
    const out: Array<[string, ResourceType]> = [];
    for (const key of this.storage.keys()) {
      const t = this.typeForStorageKey(key);
      if (t?.namespaced) out.push([key, t]);
    }
    return out;
  }

  private syncNamespaces(): void {
    for (const ns of this.storage.list('/namespaces')) {
      const name = nameOf(ns);
      if (!deleting(ns)) {
        this.namespaceDefaults(name);
        continue;
      }
      let remaining = 0;
      for (const [key, t] of this.namespacedKeys()) {
        for (const o of this.storage.list(key, name)) {
          remaining++;
          if (!deleting(o)) this.deleteObject(t, o, 'Background', 'namespace-controller');
        }
      }
      if (remaining > 0) continue;
      // Empty: the namespace's own finalizer goes (the /finalize subresource), then the namespace.
      const current = this.storage.get('/namespaces', undefined, name);
      if (!current) continue;
      if (finalizers(current).length === 0) {
        this.storage.remove('/namespaces', current);
      } else if (
        Array.isArray(getIn(current, ['spec', 'finalizers'])) &&
        (getIn(current, ['spec', 'finalizers']) as unknown[]).length > 0
      ) {
        const next = clone(current);
        next.spec = { finalizers: [] };
        this.storage.put('/namespaces', next);
      }
    }
  }

  // --- Garbage collector --------------------------------------------------------------------------

  private ownerState(dependent: JsonObject, ref: OwnerRef): 'present' | 'absent' | 'unresolvable' {
    const group = ref.apiVersion.includes('/') ? (ref.apiVersion.split('/')[0] ?? '') : '';
    const ownerType = this.registry.byKind(group, ref.kind);
    const depNs = nsOf(dependent);
    if (!depNs && ownerType?.namespaced) return 'unresolvable';
    const found = this.storage.byUid(ref.uid);
    if (!found) return 'absent';
    const ownerNs = nsOf(found.object);
    if (ownerNs && ownerNs !== depNs) return 'absent';
    return 'present';
  }

  private collectGarbage(): void {
    const all: Array<{ t: ResourceType; o: JsonObject }> = [];
    for (const key of this.storage.keys()) {
      const t = this.typeForStorageKey(key);
      if (!t) continue;
      for (const o of this.storage.list(key)) all.push({ t, o });
    }
    const dependentsOf = (uid: string) => all.filter(({ o }) => ownerRefs(o).some((r) => r.uid === uid));

    for (const { t, o } of all) {
      if (!deleting(o)) continue;
      const uid = str(getIn(o, ['metadata', 'uid'])) ?? '';
      const fins = finalizers(o);
      if (fins.includes('orphan')) {
        for (const d of dependentsOf(uid)) {
          this.mutate(d.t, d.o, 'generic-garbage-collector', (n) => {
            const m = n.metadata as JsonObject;
            const refs = ownerRefs(n).length ? (m.ownerReferences as JsonObject[]) : [];
            const kept = refs.filter((r) => r.uid !== uid);
            if (kept.length) m.ownerReferences = kept;
            else delete m.ownerReferences;
          });
        }
        this.mutate(t, o, 'generic-garbage-collector', (n) => {
          (n.metadata as JsonObject).finalizers = finalizers(n).filter((f) => f !== 'orphan');
        });
        continue;
      }
      if (fins.includes('foregroundDeletion')) {
        const deps = dependentsOf(uid);
        for (const d of deps)
          if (!deleting(d.o)) this.deleteObject(d.t, d.o, 'Foreground', 'generic-garbage-collector');
        const blocking = deps.filter(
          (d) =>
            this.storage.get(d.t.storageKey, nsOf(d.o), nameOf(d.o)) &&
            ownerRefs(d.o).some((r) => r.uid === uid && r.blockOwnerDeletion),
        );
        if (blocking.length === 0) {
          this.mutate(t, o, 'generic-garbage-collector', (n) => {
            (n.metadata as JsonObject).finalizers = finalizers(n).filter((f) => f !== 'foregroundDeletion');
          });
        }
      }
    }

    for (const { t, o: snapshot } of all) {
      // Re-read: the passes above may have changed or removed it.
      const o = this.storage.get(t.storageKey, nsOf(snapshot), nameOf(snapshot));
      if (!o) continue;
      const refs = ownerRefs(o);
      if (refs.length === 0 || deleting(o)) continue;
      const states = refs.map((r) => this.ownerState(o, r));
      if (states.includes('unresolvable')) continue;
      const absent = refs.filter((_, i) => states[i] === 'absent').map((r) => r.uid);
      if (absent.length === 0) continue;
      if (absent.length === refs.length) {
        this.deleteObject(t, o, 'Background', 'generic-garbage-collector');
      } else {
        this.mutate(t, o, 'generic-garbage-collector', (n) => {
          const m = n.metadata as JsonObject;
          m.ownerReferences = (m.ownerReferences as JsonObject[]).filter(
            (r) => !absent.includes(str(r.uid) ?? ''),
          );
        });
      }
    }
  }
}
