// Discovery and transport: what clients read before they do anything else.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { raw, serverMinor, useCluster, useWidgetCrd } from './helpers.ts';
import type { ConformanceOpts, GetTarget } from './helpers.ts';

export function discoveryConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('discovery', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);

    it('serves /version', async () => {
      const v = await ctx().kc.makeApiClient(k8s.VersionApi).getCode();
      expect(v.major).toMatch(/^\d+$/);
      expect(v.minor).toMatch(/^\d+/);
      expect(v.gitVersion).toMatch(/^v\d+\.\d+/);
    });

    it('lists the core version and the groups the operator uses', async () => {
      const core = await ctx().kc.makeApiClient(k8s.CoreApi).getAPIVersions();
      expect(core.versions).toContain('v1');
      const groups = await ctx().kc.makeApiClient(k8s.ApisApi).getAPIVersions();
      const names = groups.groups.map((g) => g.name);
      for (const g of [
        'apps',
        'apiextensions.k8s.io',
        'coordination.k8s.io',
        'networking.k8s.io',
        'events.k8s.io',
      ]) {
        expect(names).toContain(g);
      }
      const apps = groups.groups.find((g) => g.name === 'apps');
      expect(apps?.preferredVersion?.groupVersion).toBe('apps/v1');
    });

    it('describes core resources with verbs, short names and subresources', async () => {
      const list = await ctx().core.getAPIResources();
      const byName = new Map(list.resources.map((r) => [r.name, r]));
      const pods = byName.get('pods');
      // Built-in resources report their singular name from 1.27 on; 1.26 leaves it empty.
      const singularName = (await serverMinor(ctx().kc)) >= 27 ? 'pod' : '';
      expect(pods).toMatchObject({ kind: 'Pod', namespaced: true, singularName });
      expect(pods?.shortNames).toContain('po');
      expect(pods?.verbs).toEqual(
        expect.arrayContaining(['create', 'delete', 'get', 'list', 'patch', 'update', 'watch']),
      );
      expect(byName.get('pods/status')?.verbs).toEqual(expect.arrayContaining(['get', 'patch', 'update']));
      expect(byName.get('namespaces')).toMatchObject({ namespaced: false, kind: 'Namespace' });
      for (const r of [
        'configmaps',
        'secrets',
        'services',
        'serviceaccounts',
        'persistentvolumeclaims',
        'events',
      ]) {
        expect(byName.has(r), r).toBe(true);
      }
    });

    it('serves custom resources in discovery once the CRD is established', async () => {
      const c = crd();
      const res = await raw(ctx().kc, 'GET', `/apis/${c.group}/${c.version}`);
      expect(res.status).toBe(200);
      const doc = JSON.parse(res.body) as k8s.V1APIResourceList;
      expect(doc.groupVersion).toBe(`${c.group}/${c.version}`);
      const widgets = doc.resources.find((r) => r.name === 'widgets');
      expect(widgets).toMatchObject({ kind: 'Widget', namespaced: true, singularName: 'widget' });
      expect(widgets?.shortNames).toEqual(['widgetx']);
      expect(doc.resources.find((r) => r.name === 'widgets/status')).toBeTruthy();
    });

    it('answers unknown paths with a plain-text 404', async () => {
      const res = await raw(ctx().kc, 'GET', '/apis/nonexistent.conformance.agenttier.io/v1/things');
      expect(res.status).toBe(404);
      expect(res.body).toBe('404 page not found\n');
      expect(String(res.headers['content-type'])).toMatch(/^text\/plain/);
    });

    it('answers a missing object with a NotFound Status', async () => {
      const res = await raw(ctx().kc, 'GET', `/api/v1/namespaces/${ctx().ns}/configmaps/nope`);
      expect(res.status).toBe(404);
      expect(JSON.parse(res.body)).toEqual({
        kind: 'Status',
        apiVersion: 'v1',
        metadata: {},
        status: 'Failure',
        message: 'configmaps "nope" not found',
        reason: 'NotFound',
        details: { name: 'nope', kind: 'configmaps' },
        code: 404,
      });
    });
  });
}
