// Create, read, update, list and delete on built-in kinds: names, errors, concurrency, selectors.
import { describe, expect, it } from 'vitest';
import { apiError, defaultServiceAccount, eventually, gone, raw, useCluster } from './helpers.ts';
import type { ConformanceOpts, GetTarget } from './helpers.ts';

export function crudConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('create, read, update, delete', () => {
    const ctx = useCluster(getTarget, opts);
    const cm = (
      name: string,
      data: Record<string, string> = { a: '1' },
      labels?: Record<string, string>,
    ) => ({
      metadata: { name, labels },
      data,
    });

    it('sets uid, creationTimestamp (RFC 3339, whole seconds) and a numeric string resourceVersion', async () => {
      const c = ctx();
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('a') });
      const res = await raw(c.kc, 'GET', `/api/v1/namespaces/${c.ns}/configmaps/a`);
      const obj = JSON.parse(res.body) as { metadata: Record<string, unknown> };
      expect(obj.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
      expect(obj.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      expect(obj.metadata.resourceVersion).toMatch(/^\d+$/);
      expect(obj.metadata.generation).toBeUndefined();
    });

    it('labels namespaces with their name and reports them Active', async () => {
      const c = ctx();
      const ns = await c.core.readNamespace({ name: c.ns });
      expect(ns.metadata?.labels?.['kubernetes.io/metadata.name']).toBe(c.ns);
      expect(ns.status?.phase).toBe('Active');
      expect(ns.spec?.finalizers).toEqual(['kubernetes']);
    });

    it('rejects a duplicate name with 409 AlreadyExists', async () => {
      const c = ctx();
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dup') });
      const s = await apiError(c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dup') }), 409);
      expect(s).toMatchObject({
        kind: 'Status',
        status: 'Failure',
        reason: 'AlreadyExists',
        message: 'configmaps "dup" already exists',
        details: { name: 'dup', kind: 'configmaps' },
        code: 409,
      });
    });

    it('generates names from generateName with a 5-character suffix', async () => {
      const c = ctx();
      const created = await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: { metadata: { generateName: 'gen-' } },
      });
      expect(created.metadata?.name).toMatch(/^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    });

    it('requires a name or generateName (422)', async () => {
      const c = ctx();
      const s = await apiError(
        c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: {} } }),
        422,
      );
      expect(s.reason).toBe('Invalid');
      expect(s.message).toBe(
        'ConfigMap "" is invalid: metadata.name: Required value: name or generateName is required',
      );
      expect(s.details?.causes).toEqual([
        {
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
          field: 'metadata.name',
        },
      ]);
    });

    it('validates names as RFC 1123 subdomains (422)', async () => {
      const c = ctx();
      const s = await apiError(
        c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('Bad_Name') }),
        422,
      );
      expect(s.message).toContain(
        `ConfigMap "Bad_Name" is invalid: metadata.name: Invalid value: "Bad_Name": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters`,
      );
      expect(s.details).toMatchObject({ name: 'Bad_Name', kind: 'ConfigMap' });
      expect(s.details?.causes?.[0]).toMatchObject({ reason: 'FieldValueInvalid', field: 'metadata.name' });
    });

    it('rejects a body namespace that differs from the URL (400)', async () => {
      const c = ctx();
      const s = await apiError(
        c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 'x', namespace: 'other' } },
        }),
        400,
      );
      expect(s.reason).toBe('BadRequest');
      expect(s.message).toContain(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    });

    it('rejects creation in a missing namespace (404)', async () => {
      const c = ctx();
      const s = await apiError(
        c.core.createNamespacedConfigMap({ namespace: `${c.ns}-missing`, body: cm('x') }),
        404,
      );
      expect(s.message).toBe(`namespaces "${c.ns}-missing" not found`);
      expect(s.details).toMatchObject({ name: `${c.ns}-missing`, kind: 'namespaces' });
    });

    it('uses one increasing resourceVersion counter across kinds', async () => {
      const c = ctx();
      const a = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('rv-a') });
      const b = await c.core.createNamespacedSecret({
        namespace: c.ns,
        body: { metadata: { name: 'rv-b' } },
      });
      const d = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('rv-c') });
      const rvs = [a, b, d].map((o) => Number(o.metadata?.resourceVersion));
      expect(rvs[1]).toBeGreaterThan(rvs[0]!);
      expect(rvs[2]).toBeGreaterThan(rvs[1]!);
      const list = await c.core.listNamespacedConfigMap({ namespace: c.ns });
      expect(Number(list.metadata?.resourceVersion)).toBeGreaterThanOrEqual(rvs[2]!);
    });

    it('rejects a PUT with a stale resourceVersion (409 Conflict) and accepts the current one', async () => {
      const c = ctx();
      const first = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('cas') });
      const second = await c.core.replaceNamespacedConfigMap({
        namespace: c.ns,
        name: 'cas',
        body: { ...first, data: { a: '2' } },
      });
      expect(Number(second.metadata?.resourceVersion)).toBeGreaterThan(
        Number(first.metadata?.resourceVersion),
      );
      const s = await apiError(
        c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 'cas',
          body: { ...first, data: { a: '3' } },
        }),
        409,
      );
      expect(s).toMatchObject({
        reason: 'Conflict',
        message:
          'Operation cannot be fulfilled on configmaps "cas": the object has been modified; please apply your changes to the latest version and try again',
        details: { name: 'cas', kind: 'configmaps' },
      });
    });

    it('does not bump resourceVersion on a no-op update', async () => {
      const c = ctx();
      const first = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('noop') });
      const again = await c.core.replaceNamespacedConfigMap({ namespace: c.ns, name: 'noop', body: first });
      expect(again.metadata?.resourceVersion).toBe(first.metadata?.resourceVersion);
    });

    it('filters lists by label selectors (equality and set-based) and by metadata.name', async () => {
      const c = ctx();
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: cm('l1', {}, { app: 'a', tier: 'web' }),
      });
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: cm('l2', {}, { app: 'b', tier: 'db' }),
      });
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('l3', {}, { app: 'c' }) });
      const names = async (q: { labelSelector?: string; fieldSelector?: string }) =>
        (await c.core.listNamespacedConfigMap({ namespace: c.ns, ...q })).items
          .map((i) => i.metadata?.name)
          .sort();
      expect(await names({ labelSelector: 'app=a' })).toEqual(['l1']);
      expect(await names({ labelSelector: 'app in (a,b)' })).toEqual(['l1', 'l2']);
      expect(await names({ labelSelector: 'app,!tier' })).toEqual(['l3']);
      expect(await names({ labelSelector: 'app!=a,app' })).toEqual(['l2', 'l3']);
      expect(await names({ labelSelector: 'tier notin (db),app' })).toEqual(['l1', 'l3']);
      expect(await names({ fieldSelector: 'metadata.name=l2' })).toEqual(['l2']);
      expect(await names({ fieldSelector: 'metadata.name!=l2', labelSelector: 'app' })).toEqual(['l1', 'l3']);
    });

    it('rejects malformed label selectors and unsupported field labels (400)', async () => {
      const c = ctx();
      const a = await apiError(
        c.core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'app in (a' }),
        400,
      );
      expect(a.reason).toBe('BadRequest');
      const b = await apiError(
        c.core.listNamespacedConfigMap({ namespace: c.ns, fieldSelector: 'data.a=1' }),
        400,
      );
      expect(b.reason).toBe('BadRequest');
      // Kinds without field labels of their own go through the default conversion.
      expect(b.message).toBe(
        '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"',
      );
      const p = await apiError(c.core.listNamespacedPod({ namespace: c.ns, fieldSelector: 'data.a=1' }), 400);
      expect(p.message).toBe('field label not supported: data.a');
    });

    it('pages lists with limit and continue', async () => {
      const c = ctx();
      for (const n of ['p1', 'p2', 'p3', 'p4', 'p5']) {
        await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm(n, {}, { page: 'yes' }) });
      }
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await c.core.listNamespacedConfigMap({
          namespace: c.ns,
          labelSelector: 'page=yes',
          limit: 2,
          _continue: token,
        });
        seen.push(...page.items.map((i) => i.metadata?.name ?? ''));
        token = page.metadata?._continue || undefined;
        pages++;
        expect(page.items.length).toBeLessThanOrEqual(2);
      } while (token && pages < 10);
      expect(pages).toBe(3);
      expect(seen.sort()).toEqual(['p1', 'p2', 'p3', 'p4', 'p5']);
    });

    it('deletes with a Success Status and then answers 404', async () => {
      const c = ctx();
      const created = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('del') });
      const res = await raw(c.kc, 'DELETE', `/api/v1/namespaces/${c.ns}/configmaps/del`);
      expect(res.status).toBe(200);
      expect(JSON.parse(res.body)).toMatchObject({
        kind: 'Status',
        status: 'Success',
        details: { name: 'del', kind: 'configmaps', uid: created.metadata?.uid },
      });
      await apiError(c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'del' }), 404);
    });

    it('deletes a collection by label selector and returns what it deleted', async () => {
      const c = ctx();
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dc1', {}, { sweep: 'yes' }) });
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dc2', {}, { sweep: 'yes' }) });
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dc3', {}, { sweep: 'no' }) });
      const res = await raw(
        c.kc,
        'DELETE',
        `/api/v1/namespaces/${c.ns}/configmaps?labelSelector=sweep%3Dyes`,
      );
      expect(res.status).toBe(200);
      const body = JSON.parse(res.body) as { kind: string; items: Array<{ metadata: { name: string } }> };
      expect(body.kind).toBe('ConfigMapList');
      expect(body.items.map((i) => i.metadata.name).sort()).toEqual(['dc1', 'dc2']);
      const left = await c.core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'sweep' });
      expect(left.items.map((i) => i.metadata?.name)).toEqual(['dc3']);
    });

    it('returns the would-be object for dryRun=All without storing it', async () => {
      const c = ctx();
      const dry = await c.core.createNamespacedConfigMap({ namespace: c.ns, body: cm('dry'), dryRun: 'All' });
      expect(dry.metadata?.name).toBe('dry');
      await apiError(c.core.readNamespacedConfigMap({ namespace: c.ns, name: 'dry' }), 404);
    });

    it('folds Secret stringData into base64 data', async () => {
      const c = ctx();
      await c.core.createNamespacedSecret({
        namespace: c.ns,
        body: { metadata: { name: 's' }, stringData: { token: 'hunter2' } },
      });
      const s = await c.core.readNamespacedSecret({ namespace: c.ns, name: 's' });
      expect(s.data?.token).toBe(Buffer.from('hunter2').toString('base64'));
      expect(s.type).toBe('Opaque');
      expect((s as { stringData?: unknown }).stringData).toBeUndefined();
    });

    it('creates Pods as Pending with defaults, and refuses a missing ServiceAccount (403)', async () => {
      const c = ctx();
      await defaultServiceAccount(c);
      const pod = await c.core.createNamespacedPod({
        namespace: c.ns,
        body: { metadata: { name: 'p' }, spec: { containers: [{ name: 'main', image: 'busybox:1.36' }] } },
      });
      expect(pod.status?.phase).toBe('Pending');
      expect(pod.spec?.serviceAccountName).toBe('default');
      expect(pod.spec?.restartPolicy).toBe('Always');
      expect(pod.spec?.containers[0]?.imagePullPolicy).toBe('IfNotPresent');
      const s = await apiError(
        c.core.createNamespacedPod({
          namespace: c.ns,
          body: {
            metadata: { name: 'q' },
            spec: { serviceAccountName: 'missing', containers: [{ name: 'main', image: 'busybox' }] },
          },
        }),
        403,
      );
      expect(s.reason).toBe('Forbidden');
      expect(s.message).toContain(`pods "q" is forbidden: error looking up service account ${c.ns}/missing`);
    });

    it('allocates a cluster IP and defaults Service ports', async () => {
      const c = ctx();
      const svc = await c.core.createNamespacedService({
        namespace: c.ns,
        body: {
          metadata: { name: 'svc' },
          spec: { selector: { app: 'x' }, ports: [{ name: 'http', port: 80 }] },
        },
      });
      expect(svc.spec?.clusterIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(svc.spec?.type).toBe('ClusterIP');
      expect(svc.spec?.ports?.[0]).toMatchObject({ protocol: 'TCP', targetPort: 80 });
    });

    it('shares Events between core/v1 and events.k8s.io/v1', async () => {
      const c = ctx();
      await c.core.createNamespacedEvent({
        namespace: c.ns,
        body: {
          metadata: { name: 'ev1' },
          involvedObject: { kind: 'ConfigMap', name: 'x', namespace: c.ns, apiVersion: 'v1' },
          reason: 'Testing',
          message: 'hello',
          type: 'Normal',
        },
      });
      const ev = await c.events.readNamespacedEvent({ namespace: c.ns, name: 'ev1' });
      expect(ev.note).toBe('hello');
      expect(ev.regarding?.name).toBe('x');
      expect(ev.reason).toBe('Testing');
    });

    it('forbids new content in a Terminating namespace (403) and removes it once empty', async () => {
      const c = ctx();
      const ns = `${c.ns}-t`;
      await c.core.createNamespace({ body: { metadata: { name: ns } } });
      await c.core.createNamespacedConfigMap({
        namespace: ns,
        body: { metadata: { name: 'held', finalizers: ['conformance.agenttier.io/hold'] } },
      });
      const res = await raw(c.kc, 'DELETE', `/api/v1/namespaces/${ns}`);
      expect(res.status).toBe(200);
      const deleted = JSON.parse(res.body) as {
        status?: { phase?: string };
        spec?: { finalizers?: string[] };
      };
      expect(deleted.status?.phase).toBe('Terminating');
      expect(deleted.spec?.finalizers).toEqual(['kubernetes']);
      const s = await apiError(c.core.createNamespacedConfigMap({ namespace: ns, body: cm('late') }), 403);
      expect(s.reason).toBe('Forbidden');
      expect(s.message).toContain(
        `unable to create new content in namespace ${ns} because it is being terminated`,
      );
      const held = await eventually(
        async () => {
          const o = await c.core.readNamespacedConfigMap({ namespace: ns, name: 'held' });
          return o.metadata?.deletionTimestamp ? o : undefined;
        },
        c.opts.eventuallyMs,
        'namespace controller to delete content',
      );
      await c.core.replaceNamespacedConfigMap({
        namespace: ns,
        name: 'held',
        body: { ...held, metadata: { ...held.metadata, finalizers: [] } },
      });
      await gone(() => c.core.readNamespace({ name: ns }), c.opts.eventuallyMs, 'namespace removal');
    });
  });
}
