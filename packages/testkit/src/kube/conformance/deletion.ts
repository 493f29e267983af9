// Deletion: finalizers and deletionTimestamp, preconditions, owner-reference garbage collection
// (Background, Foreground, Orphan, dangling owners) and namespace deletion.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  apiError,
  eventually,
  gone,
  headers,
  ids,
  raw,
  useCluster,
  useWidgetCrd,
  widget,
} from './helpers.ts';
import type { ConformanceOpts, Ctx, GetTarget } from './helpers.ts';

const HOLD = 'conformance.agenttier.io/hold';

function ownerRef(o: k8s.V1ConfigMap, block = false): k8s.V1OwnerReference {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    name: o.metadata?.name ?? '',
    uid: o.metadata?.uid ?? '',
    blockOwnerDeletion: block || undefined,
  };
}

async function cm(c: Ctx, name: string, meta: Partial<k8s.V1ObjectMeta> = {}): Promise<k8s.V1ConfigMap> {
  return c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { name, ...meta } } });
}

async function release(c: Ctx, name: string): Promise<void> {
  await c.core.patchNamespacedConfigMap(
    { namespace: c.ns, name, body: [{ op: 'remove', path: '/metadata/finalizers' }] },
    headers.json,
  );
}

export function deletionConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('deletion and finalizers', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);

    it('marks an object with finalizers as deleting, bumps generation, and removes it with the last finalizer', async () => {
      const c = ctx();
      const w = ids(crd(), c.ns);
      await c.custom.createNamespacedCustomObject({
        ...w,
        body: widget(crd(), 'fin', { size: 1 }, { finalizers: [HOLD] }),
      });
      const res = await raw(c.kc, 'DELETE', `/apis/${crd().group}/v1/namespaces/${c.ns}/widgets/fin`);
      expect(res.status).toBe(200);
      const deleting = JSON.parse(res.body) as { kind: string; metadata: Record<string, unknown> };
      expect(deleting.kind).toBe('Widget');
      expect(deleting.metadata.deletionTimestamp).toBeTruthy();
      expect(deleting.metadata.deletionGracePeriodSeconds).toBe(0);
      expect(deleting.metadata.generation).toBe(2);
      const s = await apiError(
        c.custom.patchNamespacedCustomObject(
          { ...w, name: 'fin', body: { metadata: { finalizers: [HOLD, `${HOLD}-2`] } } },
          headers.merge,
        ),
        422,
      );
      expect(s.message).toContain('no new finalizers can be added if the object is being deleted');
      await c.custom.patchNamespacedCustomObject(
        { ...w, name: 'fin', body: { metadata: { finalizers: null } } },
        headers.merge,
      );
      await gone(() => c.custom.getNamespacedCustomObject({ ...w, name: 'fin' }), c.opts.eventuallyMs);
    });

    it('answers a plain custom-resource delete with a Success Status', async () => {
      const c = ctx();
      const created = await c.custom.createNamespacedCustomObject({
        ...ids(crd(), c.ns),
        body: widget(crd(), 'plain', { size: 1 }),
      });
      const res = await raw(c.kc, 'DELETE', `/apis/${crd().group}/v1/namespaces/${c.ns}/widgets/plain`);
      expect(JSON.parse(res.body)).toMatchObject({
        kind: 'Status',
        status: 'Success',
        details: { name: 'plain', group: crd().group, kind: 'widgets', uid: created.metadata.uid },
      });
    });

    it('enforces delete preconditions (409)', async () => {
      const c = ctx();
      await cm(c, 'precond');
      const s = await apiError(
        c.core.deleteNamespacedConfigMap({
          namespace: c.ns,
          name: 'precond',
          body: { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } },
        }),
        409,
      );
      expect(s.reason).toBe('Conflict');
      const uid = (await c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'precond' })).metadata?.uid;
      expect(s.message).toBe(
        `Operation cannot be fulfilled on ConfigMap "precond": the UID in the precondition ` +
          `(00000000-0000-0000-0000-000000000000) does not match the UID in record (${uid}). ` +
          `The object might have been deleted and then recreated`,
      );
      expect(s.details).toMatchObject({ name: 'precond', kind: 'ConfigMap' });
    });
  });

  describe('garbage collection', () => {
    const ctx = useCluster(getTarget, opts);

    it('deletes dependents in the background once the owner is gone', async () => {
      const c = ctx();
      const owner = await cm(c, 'owner');
      await cm(c, 'dep1', { ownerReferences: [ownerRef(owner)] });
      await cm(c, 'dep2', { ownerReferences: [ownerRef(owner)] });
      await c.core.deleteNamespacedConfigMap({
        namespace: c.ns,
        name: 'owner',
        propagationPolicy: 'Background',
      });
      await apiError(c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'owner' }), 404);
      for (const d of ['dep1', 'dep2'])
        await gone(
          () => c.core.readNamespacedConfigMap({ namespace: c.ns, name: d }),
          c.opts.eventuallyMs,
          d,
        );
    });

    it('keeps a Foreground-deleted owner until blocking dependents are gone', async () => {
      const c = ctx();
      const owner = await cm(c, 'fg');
      await cm(c, 'fg-dep', { ownerReferences: [ownerRef(owner, true)], finalizers: [HOLD] });
      const res = await raw(
        c.kc,
        'DELETE',
        `/api/v1/namespaces/${c.ns}/configmaps/fg`,
        JSON.stringify({ propagationPolicy: 'Foreground' }),
        {
          'Content-Type': 'application/json',
        },
      );
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as k8s.V1ConfigMap;
      expect(body.metadata?.finalizers).toContain('foregroundDeletion');
      expect(body.metadata?.deletionTimestamp).toBeTruthy();
      await eventually(
        async () =>
          (await c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'fg-dep' })).metadata
            ?.deletionTimestamp,
        c.opts.eventuallyMs,
        'dependent deleting',
      );
      const still = await c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'fg' });
      expect(still.metadata?.deletionTimestamp).toBeTruthy();
      await release(c, 'fg-dep');
      await gone(
        () => c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'fg' }),
        c.opts.eventuallyMs,
        'owner',
      );
    });

    it('orphans dependents with propagationPolicy=Orphan', async () => {
      const c = ctx();
      const owner = await cm(c, 'orph');
      await cm(c, 'orph-dep', { ownerReferences: [ownerRef(owner)] });
      await c.core.deleteNamespacedConfigMap({ namespace: c.ns, name: 'orph', propagationPolicy: 'Orphan' });
      await gone(
        () => c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'orph' }),
        c.opts.eventuallyMs,
        'owner',
      );
      const dep = await c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'orph-dep' });
      expect(dep.metadata?.ownerReferences ?? []).toEqual([]);
      expect(dep.metadata?.deletionTimestamp).toBeUndefined();
    });

    it('deletes a dependent whose owner uid does not exist', async () => {
      const c = ctx();
      await cm(c, 'dangling', {
        ownerReferences: [
          { apiVersion: 'v1', kind: 'ConfigMap', name: 'ghost', uid: '3a3a3a3a-0000-4000-8000-000000000000' },
        ],
      });
      await gone(
        () => c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'dangling' }),
        c.opts.eventuallyMs,
        'dangling dependent',
      );
    });

    it('keeps a dependent that still has a live owner', async () => {
      const c = ctx();
      const a = await cm(c, 'owner-a');
      const b = await cm(c, 'owner-b');
      await cm(c, 'shared', { ownerReferences: [ownerRef(a), ownerRef(b)] });
      await c.core.deleteNamespacedConfigMap({ namespace: c.ns, name: 'owner-a' });
      await eventually(
        async () => {
          const dep = await c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'shared' });
          return (
            dep.metadata?.ownerReferences?.length === 1 && dep.metadata.ownerReferences[0]?.name === 'owner-b'
          );
        },
        c.opts.eventuallyMs,
        'dangling reference removed',
      );
    });

    it('validates owner references (422 when uid is missing)', async () => {
      const c = ctx();
      const s = await apiError(
        cm(c, 'badref', { ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'x', uid: '' }] }),
        422,
      );
      expect(s.message).toContain('metadata.ownerReferences.uid: Invalid value: "": uid must not be empty');
    });
  });
}
