// DELETE and deletecollection: preconditions, propagation finalizers (foregroundDeletion, orphan),
// deletionTimestamp while finalizers remain (generation bumps), otherwise removal with a Success
// Status (or the object, for kinds whose registry returns it).
import { clone, deepEqual, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { ListQuery } from './list.ts';
import { finalizersOf, meta } from './object-meta.ts';
import { apiVersionOf, groupResource } from './resource-type.ts';
import type { DeleteOptions, Rest, Result, Target, WriteOptions } from './rest.ts';
import { errors, successStatus } from './status.ts';
import { nowRfc3339, rfc3339 } from './time.ts';

export function deleteObject(rest: Rest, target: Target, del: DeleteOptions, opts: WriteOptions): Result {
  const t = target.type;
  const name = target.name ?? '';
  const old = rest.getStored(t, target.namespace, name);
  if (!old) throw errors.notFound(groupResource(t), name);
  const om = meta(old);
  const pre = del.preconditions;
  if (pre?.uid && pre.uid !== om.uid) {
    // The registry's message (not apimachinery's precondition text), naming the kind in details.
    throw errors.conflict(
      { group: t.group, resource: t.kind },
      name,
      `the UID in the precondition (${pre.uid}) does not match the UID in record (${str(om.uid) ?? ''}). The object might have been deleted and then recreated`,
    );
  }
  if (pre?.resourceVersion && pre.resourceVersion !== om.resourceVersion) {
    throw errors.conflict(
      groupResource(t),
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${str(om.resourceVersion) ?? ''}`,
    );
  }
  const next = clone(old);
  const nm = meta(next);
  let fins = finalizersOf(next);
  if (del.propagationPolicy === 'Foreground')
    fins = [...fins.filter((f) => f !== 'orphan'), 'foregroundDeletion'];
  if (del.propagationPolicy === 'Orphan')
    fins = [...fins.filter((f) => f !== 'foregroundDeletion'), 'orphan'];
  fins = [...new Set(fins)];
  if (fins.length) nm.finalizers = fins;

  const graceful = t.gracePeriod !== undefined;
  const pendingGrace = typeof om.deletionGracePeriodSeconds === 'number' ? om.deletionGracePeriodSeconds : 0;
  if (om.deletionTimestamp && graceful && pendingGrace > 0) {
    // A graceful deletion is pending (rest.BeforeDelete): only a shorter grace period changes it,
    // and finalizers are not touched through DeleteOptions any more.
    const requested = del.gracePeriodSeconds;
    if (requested === undefined || requested >= pendingGrace) {
      return { code: 200, body: rest.view(t, target.version, old) };
    }
    const period = Math.max(requested, 0);
    const shortened = clone(old);
    const sm = meta(shortened);
    const due = Date.parse(str(om.deletionTimestamp) ?? '') - pendingGrace * 1000 + period * 1000;
    sm.deletionTimestamp = rfc3339(Number.isNaN(due) ? Date.now() : due);
    sm.deletionGracePeriodSeconds = period;
    return gracefulWrite(rest, target, shortened, opts);
  }
  if (!om.deletionTimestamp && graceful) {
    // CheckGracefulDelete: deletionTimestamp = now + period. The object stays while the period is
    // above 0 (the kubelet ends it) or finalizers remain; with 0 it goes at once, after the write.
    const period = t.gracePeriod!(old, del.gracePeriodSeconds);
    nm.deletionTimestamp = rfc3339(Date.now() + period * 1000);
    nm.deletionGracePeriodSeconds = period;
    if (t.hasGeneration && typeof nm.generation === 'number') nm.generation += 1;
    return gracefulWrite(rest, target, next, opts);
  }
  if (om.deletionTimestamp) {
    if (!deepEqual(fins, finalizersOf(old)) && !opts.dryRun) {
      rest.storage.put(t.storageKey, next);
      rest.afterWrite();
    }
    return { code: 200, body: rest.view(t, target.version, opts.dryRun ? old : next) };
  }
  if (fins.length > 0 || t.deletionBlocked?.(next)) {
    nm.deletionTimestamp = nowRfc3339();
    nm.deletionGracePeriodSeconds = 0;
    if (t.hasGeneration && typeof nm.generation === 'number') nm.generation += 1;
    t.onDeletionStarted?.(next);
    if (!opts.dryRun) {
      rest.storage.put(t.storageKey, next);
      rest.afterWrite();
    }
    return { code: 200, body: rest.view(t, target.version, next) };
  }
  if (opts.dryRun) {
    return {
      code: 200,
      body: t.returnDeletedObject
        ? rest.view(t, target.version, old)
        : successStatus(groupResource(t), name, str(om.uid) ?? ''),
    };
  }
  const last = rest.storage.remove(t.storageKey, old);
  rest.afterWrite();
  return {
    code: 200,
    body: t.returnDeletedObject
      ? rest.view(t, target.version, last)
      : successStatus(groupResource(t), name, str(om.uid) ?? ''),
  };
}

/** Writes the deletion state, then removes the object when nothing holds it any more. */
function gracefulWrite(rest: Rest, target: Target, next: JsonObject, opts: WriteOptions): Result {
  const t = target.type;
  if (opts.dryRun) return { code: 200, body: rest.view(t, target.version, next) };
  rest.storage.put(t.storageKey, next);
  rest.afterWrite();
  if (finalizersOf(next).length > 0 || t.deletionBlocked?.(next)) {
    return { code: 200, body: rest.view(t, target.version, next) };
  }
  const last = rest.storage.remove(t.storageKey, next);
  rest.afterWrite();
  return { code: 200, body: rest.view(t, target.version, last) };
}

export function deleteCollection(
  rest: Rest,
  target: Target,
  q: ListQuery,
  del: DeleteOptions,
  opts: WriteOptions,
): Result {
  const t = target.type;
  const sel = rest.parseSelectors(t, q);
  const victims = rest.storage
    .list(t.storageKey, t.namespaced ? target.namespace : undefined)
    .filter((o) => rest.matches(t, sel, o));
  const items: Json[] = [];
  for (const v of victims) {
    const m = meta(v);
    const res = deleteObject(rest, { ...target, namespace: str(m.namespace), name: str(m.name) }, del, opts);
    items.push(res.body.kind === 'Status' ? rest.view(t, target.version, v) : res.body);
  }
  return {
    code: 200,
    body: {
      apiVersion: apiVersionOf(t.group, target.version),
      kind: t.listKind,
      metadata: { resourceVersion: String(rest.storage.currentRv()) },
      items,
    },
  };
}
