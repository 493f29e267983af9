// The four patch types and server-side apply field ownership.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiError, headers, ids, useCluster, useWidgetCrd, widget } from './helpers.ts';
import type { ConformanceOpts, GetTarget } from './helpers.ts';

interface ManagedField {
  manager?: string;
  operation?: string;
  subresource?: string;
  fieldsV1?: Record<string, unknown>;
}

export function patchConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('patch', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);
    const w = () => ids(crd(), ctx().ns);
    const create = (name: string, spec: Record<string, unknown> = { size: 1 }) =>
      ctx().custom.createNamespacedCustomObject({ ...w(), body: widget(crd(), name, spec) });

    it('sends JSON patch by default, so an object body is a 400', async () => {
      await create('default-type');
      const s = await apiError(
        ctx().custom.patchNamespacedCustomObject({
          ...w(),
          name: 'default-type',
          body: { spec: { size: 2 } },
        }),
        400,
      );
      expect(s.reason).toBe('BadRequest');
      expect(s.message).toContain('cannot unmarshal object into Go value of type');
    });

    it('applies RFC 6902 JSON patches and fails a `test` op with 422', async () => {
      await create('jp', { size: 1, tags: ['a'] });
      const patched = await ctx().custom.patchNamespacedCustomObject(
        {
          ...w(),
          name: 'jp',
          body: [
            { op: 'test', path: '/spec/size', value: 1 },
            { op: 'replace', path: '/spec/size', value: 4 },
            { op: 'add', path: '/spec/tags/-', value: 'b' },
          ],
        },
        headers.json,
      );
      expect(patched.spec.size).toBe(4);
      expect(patched.spec.tags).toEqual(['a', 'b']);
      const s = await apiError(
        ctx().custom.patchNamespacedCustomObject(
          { ...w(), name: 'jp', body: [{ op: 'test', path: '/spec/size', value: 1 }] },
          headers.json,
        ),
        422,
      );
      expect(s.reason).toBe('Invalid');
    });

    it('applies RFC 7386 merge patches where null deletes', async () => {
      await create('mp', { size: 1, name: 'abc' });
      const patched = await ctx().custom.patchNamespacedCustomObject(
        { ...w(), name: 'mp', body: { spec: { size: 3, name: null }, metadata: { labels: { x: 'y' } } } },
        headers.merge,
      );
      expect(patched.spec).toEqual({ size: 3, mode: 'slow' });
      expect(patched.metadata.labels).toEqual({ x: 'y' });
    });

    it('treats metadata.resourceVersion in a merge patch as a precondition (409)', async () => {
      const created = await create('pre');
      await ctx().custom.patchNamespacedCustomObject(
        { ...w(), name: 'pre', body: { spec: { size: 2 } } },
        headers.merge,
      );
      const s = await apiError(
        ctx().custom.patchNamespacedCustomObject(
          {
            ...w(),
            name: 'pre',
            body: { metadata: { resourceVersion: created.metadata.resourceVersion }, spec: { size: 3 } },
          },
          headers.merge,
        ),
        409,
      );
      expect(s.reason).toBe('Conflict');
    });

    it('answers a patch of a missing object with 404', async () => {
      await apiError(
        ctx().custom.patchNamespacedCustomObject(
          { ...w(), name: 'absent', body: { spec: { size: 2 } } },
          headers.merge,
        ),
        404,
      );
    });

    it('refuses strategic merge patch on custom resources (415)', async () => {
      await create('smp');
      const s = await apiError(
        ctx().custom.patchNamespacedCustomObject(
          { ...w(), name: 'smp', body: { spec: { size: 2 } } },
          headers.strategic,
        ),
        415,
      );
      expect(s.reason).toBe('UnsupportedMediaType');
      expect(s.message).toContain(
        'accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml',
      );
    });

    it('merges lists by key with strategic merge patch on built-in kinds', async () => {
      const c = ctx();
      await c.apps.createNamespacedDeployment({
        namespace: c.ns,
        body: {
          metadata: { name: 'd' },
          spec: {
            selector: { matchLabels: { app: 'd' } },
            template: {
              metadata: { labels: { app: 'd' } },
              spec: {
                containers: [
                  { name: 'a', image: 'busybox:1' },
                  { name: 'b', image: 'busybox:1', env: [{ name: 'X', value: '1' }] },
                ],
              },
            },
          },
        },
      });
      const patched = await c.apps.patchNamespacedDeployment(
        {
          namespace: c.ns,
          name: 'd',
          body: {
            spec: {
              template: {
                spec: { containers: [{ name: 'b', image: 'busybox:2', env: [{ name: 'Y', value: '2' }] }] },
              },
            },
          },
        },
        headers.strategic,
      );
      const containers = patched.spec?.template.spec?.containers ?? [];
      expect(containers.map((x) => `${x.name}=${x.image}`)).toEqual(['a=busybox:1', 'b=busybox:2']);
      expect(containers[1]?.env?.map((e) => e.name).sort()).toEqual(['X', 'Y']);
      expect(patched.metadata?.generation).toBe(2);
    });

    it('does not change resourceVersion for a no-op patch', async () => {
      const created = await create('noop', { size: 5 });
      const patched = await ctx().custom.patchNamespacedCustomObject(
        { ...w(), name: 'noop', body: { spec: { size: 5 } } },
        headers.merge,
      );
      expect(patched.metadata.resourceVersion).toBe(created.metadata.resourceVersion);
    });
  });

  describe('server-side apply', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);
    const w = () => ids(crd(), ctx().ns);
    const apply = (
      name: string,
      spec: Record<string, unknown>,
      fieldManager: string | undefined,
      force = false,
      extra: Record<string, unknown> = {},
    ) =>
      ctx().custom.patchNamespacedCustomObject(
        {
          ...w(),
          name,
          body: { ...widget(crd(), name, spec), ...extra },
          fieldManager,
          force: force || undefined,
        },
        headers.apply,
      );

    it('creates a missing object (201) and records an Apply entry', async () => {
      const res = await ctx().custom.patchNamespacedCustomObjectWithHttpInfo(
        { ...w(), name: 'ssa', body: widget(crd(), 'ssa', { size: 2 }), fieldManager: 'conformance' },
        headers.apply,
      );
      expect(res.httpStatusCode).toBe(201);
      const mf = res.data.metadata.managedFields as ManagedField[];
      expect(mf).toEqual([
        expect.objectContaining({
          manager: 'conformance',
          operation: 'Apply',
          fieldsV1: { 'f:spec': { 'f:size': {} } },
        }),
      ]);
    });

    it('requires fieldManager (422)', async () => {
      const s = await apiError(apply('nomgr', { size: 1 }, undefined), 422);
      expect(s.message).toContain('fieldManager: Required value: is required for apply patch');
    });

    it('conflicts with an Update manager that owns a field, and force takes it over', async () => {
      const c = ctx();
      await c.custom.createNamespacedCustomObject(
        { ...w(), body: widget(crd(), 'owned', { size: 1 }) },
        k8sUserAgent('other-writer/1.0'),
      );
      const s = await apiError(apply('owned', { size: 3 }, 'applier'), 409);
      expect(s.reason).toBe('Conflict');
      expect(s.message).toBe(
        `Apply failed with 1 conflict: conflict with "other-writer" using ${crd().group}/v1: .spec.size`,
      );
      expect(s.details?.causes).toEqual([
        {
          reason: 'FieldManagerConflict',
          message: `conflict with "other-writer" using ${crd().group}/v1`,
          field: '.spec.size',
        },
      ]);
      const forced = await apply('owned', { size: 3 }, 'applier', true);
      expect(forced.spec.size).toBe(3);
      const managers = (forced.metadata.managedFields as ManagedField[]).map(
        (m) => `${m.manager}/${m.operation}`,
      );
      expect(managers).toContain('applier/Apply');
      const other = (forced.metadata.managedFields as ManagedField[]).find(
        (m) => m.manager === 'other-writer',
      );
      expect(JSON.stringify(other?.fieldsV1 ?? {})).not.toContain('f:size');
    });

    it('does not conflict when the applied value is unchanged', async () => {
      await ctx().custom.createNamespacedCustomObject(
        { ...w(), body: widget(crd(), 'same', { size: 4 }) },
        k8sUserAgent('other-writer/1.0'),
      );
      const applied = await apply('same', { size: 4 }, 'applier');
      expect(applied.spec.size).toBe(4);
    });

    it('removes fields a manager stops applying', async () => {
      await apply('shrink', { size: 1, name: 'abc' }, 'applier');
      const after = await apply('shrink', { size: 1 }, 'applier');
      expect(after.spec.name).toBeUndefined();
      expect(after.spec.size).toBe(1);
    });

    it('merges x-kubernetes-list-type map items owned by different managers', async () => {
      await apply('ports', { size: 1, ports: [{ name: 'http', port: 80 }] }, 'one');
      const both = await apply('ports', { size: 1, ports: [{ name: 'https', port: 443 }] }, 'two');
      expect((both.spec.ports as Array<{ name: string }>).map((p) => p.name).sort()).toEqual([
        'http',
        'https',
      ]);
      const two = (both.metadata.managedFields as ManagedField[]).find((m) => m.manager === 'two');
      expect(JSON.stringify(two?.fieldsV1)).toContain('k:{\\"name\\":\\"https\\"}');
    });

    it('defaults a list-map key before merging: re-applying a port without protocol keeps one entry', async () => {
      // The real server fills in a key field's default (ContainerPort.protocol = TCP) when it
      // matches list items, so the applied item and the defaulted live item are the same one.
      const c = ctx();
      const deployment = (image: string): k8s.V1Deployment => ({
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        metadata: { name: 'ports', namespace: c.ns },
        spec: {
          selector: { matchLabels: { app: 'ports' } },
          template: {
            metadata: { labels: { app: 'ports' } },
            spec: { containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 8080 }] }] },
          },
        },
      });
      const applyDeployment = (image: string) =>
        c.apps.patchNamespacedDeployment(
          { namespace: c.ns, name: 'ports', body: deployment(image), fieldManager: 'conformance' },
          headers.apply,
        );
      await applyDeployment('busybox:1');
      const again = await applyDeployment('busybox:2');
      const container = again.spec?.template.spec?.containers[0];
      expect(container?.image).toBe('busybox:2');
      expect(container?.ports).toEqual([{ name: 'http', containerPort: 8080, protocol: 'TCP' }]);
      const entry = (again.metadata?.managedFields as ManagedField[] | undefined)?.find(
        (m) => m.manager === 'conformance' && m.operation === 'Apply',
      );
      expect(JSON.stringify(entry?.fieldsV1)).toContain(
        'k:{\\"containerPort\\":8080,\\"protocol\\":\\"TCP\\"}',
      );
    });

    it('works through the generic KubernetesObjectApi (discovery-driven URLs)', async () => {
      const c = ctx();
      const client = k8s.KubernetesObjectApi.makeApiClient(c.kc);
      const body = {
        ...widget(crd(), 'generic', { size: 2 }),
        metadata: { name: 'generic', namespace: c.ns },
      } as k8s.KubernetesObject & { apiVersion: string; kind: string };
      const applied = await client.patch(
        body,
        undefined,
        undefined,
        'generic-applier',
        true,
        k8s.PatchStrategy.ServerSideApply,
      );
      expect((applied as { spec?: { size?: number } }).spec?.size).toBe(2);
      const read = await client.read({
        apiVersion: body.apiVersion,
        kind: body.kind,
        metadata: { name: 'generic', namespace: c.ns },
      });
      expect(read.metadata?.uid).toBe(applied.metadata?.uid);
      const merged = await client.patch(
        {
          apiVersion: body.apiVersion,
          kind: body.kind,
          metadata: { name: 'generic', namespace: c.ns },
          spec: { size: 3 },
        } as k8s.KubernetesObject,
        undefined,
        undefined,
        undefined,
        undefined,
        k8s.PatchStrategy.MergePatch,
      );
      expect((merged as { spec?: { size?: number } }).spec?.size).toBe(3);
      const cm = await client.create<k8s.KubernetesObject>({
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: 'generic', namespace: c.ns },
      });
      expect(cm.metadata?.uid).toBeTruthy();
      await client.delete(cm);
      await client.delete(read);
      await apiError(
        client.read({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'generic', namespace: c.ns } }),
        404,
      );
    });

    it('applies status through /status and records the subresource', async () => {
      await apply('st', { size: 1 }, 'applier');
      const res = await ctx().custom.patchNamespacedCustomObjectStatus(
        {
          ...w(),
          name: 'st',
          body: {
            apiVersion: `${crd().group}/v1`,
            kind: 'Widget',
            metadata: { name: 'st' },
            status: { phase: 'Ready' },
          },
          fieldManager: 'status-writer',
        },
        headers.apply,
      );
      expect(res.status).toEqual({ phase: 'Ready' });
      const entry = (res.metadata.managedFields as ManagedField[]).find((m) => m.manager === 'status-writer');
      expect(entry).toMatchObject({
        operation: 'Apply',
        subresource: 'status',
        fieldsV1: { 'f:status': { 'f:phase': {} } },
      });
      const ignored = await apply('st', { size: 1 }, 'applier', false, { status: { phase: 'Nope' } });
      expect(ignored.status).toEqual({ phase: 'Ready' });
    });
  });
}

/** Per-call User-Agent, which names the field manager of non-apply writes. */
function k8sUserAgent(ua: string) {
  return k8s.setHeaderOptions('User-Agent', ua);
}
