// The status subresource, generation and optimistic concurrency on custom resources.
import { describe, expect, it } from 'vitest';
import { apiError, ids, useCluster, useWidgetCrd, widget } from './helpers.ts';
import type { ConformanceOpts, GetTarget } from './helpers.ts';

export function statusConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('status subresource and generation', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);
    const create = (
      name: string,
      spec: Record<string, unknown> = { size: 1 },
      extra: Record<string, unknown> = {},
    ) =>
      ctx().custom.createNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        body: { ...widget(crd(), name, spec), ...extra },
      });
    const get = (name: string) => ctx().custom.getNamespacedCustomObject({ ...ids(crd(), ctx().ns), name });

    it('drops status on create and starts generation at 1', async () => {
      const w = await create('a', { size: 1 }, { status: { phase: 'Ready' } });
      expect(w.status).toBeUndefined();
      expect(w.metadata.generation).toBe(1);
    });

    it('ignores status on the main resource and bumps generation only for spec changes', async () => {
      const w = await create('b');
      const withStatus = await ctx().custom.replaceNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        name: 'b',
        body: { ...w, status: { phase: 'Ignored' } },
      });
      expect(withStatus.status).toBeUndefined();
      const labelled = await ctx().custom.replaceNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        name: 'b',
        body: { ...withStatus, metadata: { ...withStatus.metadata, labels: { l: 'x' } } },
      });
      expect(labelled.metadata.generation).toBe(1);
      expect(Number(labelled.metadata.resourceVersion)).toBeGreaterThan(
        Number(withStatus.metadata.resourceVersion),
      );
      const resized = await ctx().custom.replaceNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        name: 'b',
        body: { ...labelled, spec: { ...labelled.spec, size: 2 } },
      });
      expect(resized.metadata.generation).toBe(2);
    });

    it('writes only status through /status, leaving spec, labels and generation alone', async () => {
      const w = await create('c');
      const updated = await ctx().custom.replaceNamespacedCustomObjectStatus({
        ...ids(crd(), ctx().ns),
        name: 'c',
        body: {
          ...w,
          spec: { size: 9 },
          metadata: { ...w.metadata, labels: { sneaky: 'yes' } },
          status: { phase: 'Ready', observedGeneration: 1 },
        },
      });
      expect(updated.status).toEqual({ phase: 'Ready', observedGeneration: 1 });
      expect(updated.spec.size).toBe(1);
      expect(updated.metadata.labels).toBeUndefined();
      expect(updated.metadata.generation).toBe(1);
      const s = await apiError(
        ctx().custom.replaceNamespacedCustomObjectStatus({
          ...ids(crd(), ctx().ns),
          name: 'c',
          body: { ...w, status: { phase: 'Stale' } },
        }),
        409,
      );
      expect(s.reason).toBe('Conflict');
    });

    it('requires metadata.resourceVersion on a custom resource PUT (422)', async () => {
      const w = await create('d');
      const body = { ...w, metadata: { ...w.metadata, resourceVersion: undefined } };
      const s = await apiError(
        ctx().custom.replaceNamespacedCustomObject({ ...ids(crd(), ctx().ns), name: 'd', body }),
        422,
      );
      expect(s.message).toBe(
        `widgets.${crd().group} "d" is invalid: metadata.resourceVersion: Invalid value: 0x0: must be specified for an update`,
      );
    });

    it('rejects a stale resourceVersion on a custom resource PUT (409)', async () => {
      const w = await create('e');
      await ctx().custom.replaceNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        name: 'e',
        body: { ...w, spec: { size: 2 } },
      });
      const s = await apiError(
        ctx().custom.replaceNamespacedCustomObject({
          ...ids(crd(), ctx().ns),
          name: 'e',
          body: { ...w, spec: { size: 3 } },
        }),
        409,
      );
      expect(s.message).toBe(
        `Operation cannot be fulfilled on widgets.${crd().group} "e": the object has been modified; please apply your changes to the latest version and try again`,
      );
      expect(s.details).toMatchObject({ name: 'e', group: crd().group, kind: 'widgets' });
      expect((await get('e')).spec.size).toBe(2);
    });

    it('rejects a body of the wrong kind (422)', async () => {
      const c = crd();
      const s = await apiError(
        ctx().custom.createNamespacedCustomObject({
          ...ids(c, ctx().ns),
          body: { apiVersion: `${c.group}/v1`, kind: 'Gizmo', metadata: { name: 'g' }, spec: { size: 1 } },
        }),
        422,
      );
      expect(s.message).toContain('kind: Invalid value: "Gizmo": must be Widget');
    });

    it('rejects a duplicate custom resource with the plural in details.kind', async () => {
      await create('f');
      const s = await apiError(create('f'), 409);
      expect(s).toMatchObject({
        reason: 'AlreadyExists',
        message: `widgets.${crd().group} "f" already exists`,
        details: { name: 'f', group: crd().group, kind: 'widgets' },
      });
    });
  });
}
