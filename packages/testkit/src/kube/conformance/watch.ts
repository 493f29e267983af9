// Watch semantics informers depend on: wire format, resourceVersion replay, 410 Expired,
// synthetic ADDED, selector transitions, timeouts, and an informer end to end.
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { eventually, ids, openRaw, useCluster, useWidgetCrd, watch, widget } from './helpers.ts';
import type { ConformanceOpts, GetTarget, Watching } from './helpers.ts';

export function watchConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('watch', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);
    const cmPath = () => `/api/v1/namespaces/${ctx().ns}/configmaps`;
    const summary = (w: Watching) => w.events.map((e) => `${e.type} ${e.object.metadata?.name ?? ''}`);

    it('streams one JSON event per line over a chunked 200 response', async () => {
      const c = ctx();
      const list = await c.core.listNamespacedConfigMap({ namespace: c.ns });
      // A label keeps out objects controllers add to new namespaces (kube-root-ca.crt).
      const res = await openRaw(
        c.kc,
        'GET',
        `${cmPath()}?watch=1&labelSelector=w%3Dwire&resourceVersion=${list.metadata?.resourceVersion}`,
      );
      try {
        expect(res.statusCode).toBe(200);
        expect(String(res.headers['content-type'])).toMatch(/^application\/json/);
        expect(res.headers['transfer-encoding']).toBe('chunked');
        let buf = '';
        const lines: string[] = [];
        res.on('data', (d: Buffer) => {
          buf += d.toString('utf8');
          let i: number;
          while ((i = buf.indexOf('\n')) >= 0) {
            lines.push(buf.slice(0, i));
            buf = buf.slice(i + 1);
          }
        });
        await c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 'wire', labels: { w: 'wire' } } },
        });
        await c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 'wire2', labels: { w: 'wire' } } },
        });
        await eventually(() => lines.length >= 2, 5000, 'two watch lines');
        const first = JSON.parse(lines[0] ?? '') as {
          type: string;
          object: { kind: string; apiVersion: string; metadata: { name: string } };
        };
        expect(first).toMatchObject({
          type: 'ADDED',
          object: { kind: 'ConfigMap', apiVersion: 'v1', metadata: { name: 'wire' } },
        });
        expect(Object.keys(first).sort()).toEqual(['object', 'type']);
      } finally {
        res.destroy();
      }
    });

    it('replays from a list resourceVersion: ADDED, MODIFIED, MODIFIED, DELETED with new resourceVersions', async () => {
      const c = ctx();
      const list = await c.core.listNamespacedConfigMap({ namespace: c.ns });
      const w = await watch(c.kc, cmPath(), {
        resourceVersion: list.metadata?.resourceVersion ?? '',
        labelSelector: 'w=seq',
      });
      try {
        const a = await c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 'seq', labels: { w: 'seq' } }, data: { v: '1' } },
        });
        const b = await c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 'seq',
          body: { ...a, data: { v: '2' } },
        });
        await c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 'seq',
          body: { ...b, data: { v: '3' } },
        });
        await c.core.deleteNamespacedConfigMap({ namespace: c.ns, name: 'seq' });
        await eventually(() => w.events.length >= 4, 5000, 'four events');
        expect(summary(w)).toEqual(['ADDED seq', 'MODIFIED seq', 'MODIFIED seq', 'DELETED seq']);
        const rvs = w.events.map((e) => Number(e.object.metadata.resourceVersion));
        expect([...rvs].sort((x, y) => x - y)).toEqual(rvs);
        expect(new Set(rvs).size).toBe(4);
        expect(w.events[3]?.object.data).toEqual({ v: '3' });
      } finally {
        w.stop();
      }
    });

    it('starts with synthetic ADDED events when no resourceVersion is given', async () => {
      const c = ctx();
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: { metadata: { name: 'pre1', labels: { w: 'y' } } },
      });
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: { metadata: { name: 'pre2', labels: { w: 'y' } } },
      });
      const w = await watch(c.kc, cmPath(), { labelSelector: 'w=y' });
      try {
        await eventually(() => w.events.length >= 2, 5000, 'synthetic ADDED events');
        expect(summary(w).sort()).toEqual(['ADDED pre1', 'ADDED pre2']);
      } finally {
        w.stop();
      }
    });

    it('turns label-selector transitions into DELETED and ADDED', async () => {
      const c = ctx();
      const list = await c.core.listNamespacedConfigMap({ namespace: c.ns });
      const w = await watch(c.kc, cmPath(), {
        resourceVersion: list.metadata?.resourceVersion ?? '',
        labelSelector: 'sel=in',
      });
      try {
        const a = await c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 't', labels: { sel: 'in' } } },
        });
        const b = await c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 't',
          body: { ...a, metadata: { ...a.metadata, labels: { sel: 'out' } } },
        });
        await c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 't',
          body: { ...b, metadata: { ...b.metadata, labels: { sel: 'in' } } },
        });
        await eventually(() => w.events.length >= 3, 5000, 'three events');
        expect(summary(w)).toEqual(['ADDED t', 'DELETED t', 'ADDED t']);
      } finally {
        w.stop();
      }
    });

    it('filters a watch by metadata.name', async () => {
      const c = ctx();
      const list = await c.core.listNamespacedConfigMap({ namespace: c.ns });
      const w = await watch(c.kc, cmPath(), {
        resourceVersion: list.metadata?.resourceVersion ?? '',
        fieldSelector: 'metadata.name=only',
      });
      try {
        await c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { name: 'other' } } });
        await c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { name: 'only' } } });
        await eventually(() => w.events.length >= 1, 5000, 'one event');
        expect(summary(w)).toEqual(['ADDED only']);
      } finally {
        w.stop();
      }
    });

    it('replays from an old resourceVersion while the server still has its history', async () => {
      const c = ctx();
      const before = (await c.core.listNamespacedConfigMap({ namespace: c.ns })).metadata?.resourceVersion;
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: { metadata: { name: 'old', labels: { w: 'replay' } } },
      });
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { name: 'other' } } });
      // From a resourceVersion older than the latest writes, still in the server's history: every
      // change since then is replayed. (How far back history goes depends on the server's load:
      // a fresh apiserver still replays from resourceVersion 1; a busy one answers that with 410.)
      const w = await watch(c.kc, cmPath(), { resourceVersion: before ?? '', labelSelector: 'w=replay' });
      try {
        await eventually(() => w.events.length >= 1, 5000, 'replayed event');
        expect(summary(w)).toEqual(['ADDED old']);
      } finally {
        w.stop();
      }
    });

    it('answers a too-old resourceVersion with 200 and one ERROR 410 Expired event', async (t) => {
      const c = ctx();
      if (!c.target.expireWatchHistory) {
        t.skip('this server offers no way to drop its watch history on demand');
        return;
      }
      await c.core.createNamespacedConfigMap({ namespace: c.ns, body: { metadata: { name: 'gone' } } });
      await c.target.expireWatchHistory();
      const w = await watch(c.kc, cmPath(), { resourceVersion: '1' });
      try {
        await eventually(() => w.events.length >= 1, 5000, 'ERROR event');
        expect(w.events[0]?.type).toBe('ERROR');
        expect(w.events[0]?.object).toMatchObject({
          kind: 'Status',
          apiVersion: 'v1',
          status: 'Failure',
          reason: 'Expired',
          code: 410,
        });
        expect(String(w.events[0]?.object.message)).toMatch(/^too old resource version: 1 \(\d+\)$/);
        expect(await w.done).toBeNull();
      } finally {
        w.stop();
      }
    });

    it('ends the stream after timeoutSeconds', async () => {
      const started = Date.now();
      const w = await watch(ctx().kc, cmPath(), { timeoutSeconds: 1 });
      const err = await w.done;
      expect(err).toBeNull();
      expect(Date.now() - started).toBeLessThan(5000);
    });

    it('watches custom resources, including status writes', async () => {
      const c = ctx();
      const cr = crd();
      const path = `/apis/${cr.group}/${cr.version}/namespaces/${c.ns}/${cr.plural}`;
      const list = await c.custom.listNamespacedCustomObject(ids(cr, c.ns));
      const w = await watch(c.kc, path, { resourceVersion: list.metadata.resourceVersion });
      try {
        const created = await c.custom.createNamespacedCustomObject({
          ...ids(cr, c.ns),
          body: widget(cr, 'cw', { size: 1 }),
        });
        await c.custom.replaceNamespacedCustomObjectStatus({
          ...ids(cr, c.ns),
          name: 'cw',
          body: { ...created, status: { phase: 'Ready' } },
        });
        await eventually(() => w.events.length >= 2, 5000, 'two events');
        expect(summary(w)).toEqual(['ADDED cw', 'MODIFIED cw']);
        expect(w.events[1]?.object.status).toEqual({ phase: 'Ready' });
      } finally {
        w.stop();
      }
    });

    it('keeps an informer cache in step with add, update and delete', async () => {
      const c = ctx();
      const informer = k8s.makeInformer(
        c.kc,
        cmPath(),
        () => c.core.listNamespacedConfigMap({ namespace: c.ns, labelSelector: 'inf=yes' }),
        'inf=yes',
      );
      const seen: string[] = [];
      informer.on('add', (o) => seen.push(`add ${o.metadata?.name}`));
      informer.on('update', (o) => seen.push(`update ${o.metadata?.name}`));
      informer.on('delete', (o) => seen.push(`delete ${o.metadata?.name}`));
      await c.core.createNamespacedConfigMap({
        namespace: c.ns,
        body: { metadata: { name: 'i0', labels: { inf: 'yes' } } },
      });
      await informer.start();
      try {
        const i1 = await c.core.createNamespacedConfigMap({
          namespace: c.ns,
          body: { metadata: { name: 'i1', labels: { inf: 'yes' } } },
        });
        await c.core.replaceNamespacedConfigMap({
          namespace: c.ns,
          name: 'i1',
          body: { ...i1, data: { a: 'b' } },
        });
        await c.core.deleteNamespacedConfigMap({ namespace: c.ns, name: 'i0' });
        await eventually(() => seen.length >= 4, 5000, 'informer events');
        expect(seen).toEqual(['add i0', 'add i1', 'update i1', 'delete i0']);
        expect(informer.list(c.ns).map((o) => o.metadata?.name)).toEqual(['i1']);
        expect(informer.get('i1', c.ns)?.data).toEqual({ a: 'b' });
      } finally {
        await informer.stop();
      }
    });
  });
}
