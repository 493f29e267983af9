// Built-in kinds beyond the core ones that AgentTier's manifests and runtime use: RuntimeClass
// (gVisor/Kata overlays), Ingress (the chart), and Pod graceful deletion.
//
// Graceful deletion of Pods, as the real registry does it (podStrategy.CheckGracefulDelete and
// rest.BeforeDelete): a DELETE sets deletionTimestamp = now + grace period and
// deletionGracePeriodSeconds; the period is the request's gracePeriodSeconds, else the pod's
// terminationGracePeriodSeconds, but 0 for a pod that is not bound to a node or has ended, and a pod
// with period 0 (and no finalizers) is removed at once. A bound pod stays Terminating until its
// kubelet has stopped the containers and deletes it with grace period 0; a later DELETE may only
// shorten the period. There is no kubelet behind the node names used here on any cluster, so the
// same assertions hold on the fake and on a real API server. (The fake's FakeKubelet plays the
// kubelet for the pods it binds: it ends their termination right away unless holdTerminations().)
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { apiError, defaultServiceAccount, isNotFound, rand, serverMinor, useCluster } from './helpers.ts';
import type { ConformanceOpts, Ctx, GetTarget } from './helpers.ts';

/** A node name no kubelet runs: bound pods there wait for a kubelet that never comes. */
const NO_KUBELET_NODE = 'conformance-node-without-kubelet';

async function readPod(c: Ctx, name: string): Promise<k8s.V1Pod | undefined> {
  try {
    return await c.core.readNamespacedPod({ namespace: c.ns, name });
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
}

export function builtinsConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('Lease', () => {
    const ctx = useCluster(getTarget, opts);

    it('takes MicroTime acquire/renew times with exactly six fractional digits (a JS Date gets 400)', async () => {
      const c = ctx();
      const leases = c.kc.makeApiClient(k8s.CoordinationV1Api);
      const raw = (name: string, acquireTime: string) =>
        leases.createNamespacedLease({
          namespace: c.ns,
          // A string goes out as written (client-node passes unknown-format values through).
          body: { metadata: { name }, spec: { holderIdentity: 'a', acquireTime: acquireTime as never } },
        });
      const ms = await apiError(raw('millis', '2026-12-06T01:12:02.145Z'), 400);
      expect(ms.reason).toBe('BadRequest');
      expect(ms.message).toBe(
        'Lease in version "v1" cannot be handled as a Lease: parsing time "2026-12-06T01:12:02.145Z" as ' +
          '"2006-01-02T15:04:05.000000Z07:00": cannot parse ".145Z" as ".000000"',
      );
      const whole = await apiError(raw('seconds', '2026-12-06T01:12:02Z'), 400);
      expect(whole.message).toContain('cannot parse "Z" as ".000000"');
      const ok = await raw('micros', '2026-12-06T01:12:02.145000Z');
      expect(String(ok.spec?.acquireTime)).toMatch(
        /^2026-12-06T01:12:02\.145000Z$|^2026-12-06T01:12:02\.145Z$/,
      );
      const stored = await leases.readNamespacedLease({ namespace: c.ns, name: 'micros' });
      expect(new Date(String(stored.spec?.acquireTime)).getTime()).toBe(
        Date.parse('2026-12-06T01:12:02.145Z'),
      );
    });
  });

  describe('Event', () => {
    const ctx = useCluster(getTarget, opts);

    it('takes eventTime as MicroTime in core/v1 and events.k8s.io/v1 (milliseconds get 400)', async () => {
      const c = ctx();
      const event = (name: string, eventTime: string) => ({
        metadata: { name },
        involvedObject: { kind: 'ConfigMap', name: 'x', namespace: c.ns },
        reason: 'Tested',
        message: 'm',
        type: 'Normal',
        reportingComponent: 'conformance',
        reportingInstance: 'conformance-1',
        action: 'Test',
        // A string goes out as written (client-node passes unknown-format values through).
        eventTime: eventTime as never,
      });
      const core = await apiError(
        c.core.createNamespacedEvent({ namespace: c.ns, body: event('millis', '2026-12-06T01:12:02.145Z') }),
        400,
      );
      expect(core.message).toBe(
        'Event in version "v1" cannot be handled as a Event: parsing time "2026-12-06T01:12:02.145Z" as ' +
          '"2006-01-02T15:04:05.000000Z07:00": cannot parse ".145Z" as ".000000"',
      );
      const events = c.kc.makeApiClient(k8s.EventsV1Api);
      const v1 = await apiError(
        events.createNamespacedEvent({
          namespace: c.ns,
          body: {
            metadata: { name: 'millis-v1' },
            regarding: { kind: 'ConfigMap', name: 'x', namespace: c.ns },
            reason: 'Tested',
            note: 'm',
            type: 'Normal',
            reportingController: 'conformance',
            reportingInstance: 'conformance-1',
            action: 'Test',
            eventTime: '2026-12-06T01:12:02.145Z' as never,
          },
        }),
        400,
      );
      expect(v1.message).toContain('cannot parse ".145Z" as ".000000"');
      await c.core.createNamespacedEvent({
        namespace: c.ns,
        body: event('micros', '2026-12-06T01:12:02.145000Z'),
      });
      const stored = await events.readNamespacedEvent({ namespace: c.ns, name: 'micros' });
      expect(new Date(String(stored.eventTime)).getTime()).toBe(Date.parse('2026-12-06T01:12:02.145Z'));
    });
  });

  describe('RuntimeClass and Ingress', () => {
    const ctx = useCluster(getTarget, opts);

    it('serves node.k8s.io/v1 RuntimeClass: a DNS-label handler, immutable', async () => {
      const c = ctx();
      const node = c.kc.makeApiClient(k8s.NodeV1Api);
      const name = `conf-rc-${rand(8)}`;
      const created = await node.createRuntimeClass({ body: { metadata: { name }, handler: 'runsc' } });
      try {
        expect(created.handler).toBe('runsc');
        expect(created.metadata?.namespace).toBeUndefined();
        const bad = await apiError(
          node.createRuntimeClass({ body: { metadata: { name: `${name}-bad` }, handler: 'Not_A_Label' } }),
          422,
        );
        expect(bad.message).toContain(
          'handler: Invalid value: "Not_A_Label": a lowercase RFC 1123 label must consist of',
        );
        const changed = await apiError(
          node.replaceRuntimeClass({ name, body: { ...created, handler: 'kata' } }),
          422,
        );
        expect(changed.message).toContain('handler: Invalid value: "kata": field is immutable');
      } finally {
        await node.deleteRuntimeClass({ name });
      }
    });

    it('serves networking.k8s.io/v1 Ingress: rules need a pathType and a service port', async () => {
      const c = ctx();
      const net = c.kc.makeApiClient(k8s.NetworkingV1Api);
      const backend = { service: { name: 'web', port: { number: 8080 } } };
      const created = await net.createNamespacedIngress({
        namespace: c.ns,
        body: {
          metadata: { name: 'web' },
          spec: {
            ingressClassName: 'nginx',
            rules: [{ http: { paths: [{ path: '/', pathType: 'Prefix', backend }] } }],
          },
        },
      });
      expect(created.metadata?.generation).toBe(1);
      expect(created.spec?.rules?.[0]?.http?.paths[0]?.backend.service?.port?.number).toBe(8080);
      const noPathType = await apiError(
        net.createNamespacedIngress({
          namespace: c.ns,
          body: {
            metadata: { name: 'no-path-type' },
            spec: { rules: [{ http: { paths: [{ path: '/', backend }] } }] } as k8s.V1IngressSpec,
          },
        }),
        422,
      );
      expect(noPathType.message).toContain(
        'spec.rules[0].http.paths[0].pathType: Required value: pathType must be specified',
      );
      const noPort = await apiError(
        net.createNamespacedIngress({
          namespace: c.ns,
          body: {
            metadata: { name: 'no-port' },
            spec: { defaultBackend: { service: { name: 'web' } } } as k8s.V1IngressSpec,
          },
        }),
        422,
      );
      // 1.26 still names the legacy group of the internal type; current releases networking.k8s.io.
      const group = (await serverMinor(c.kc)) >= 27 ? 'networking.k8s.io' : 'extensions';
      expect(noPort.message).toBe(
        `Ingress.${group} "no-port" is invalid: spec.defaultBackend: Required value: port name or number is required`,
      );
      const empty = await apiError(
        net.createNamespacedIngress({ namespace: c.ns, body: { metadata: { name: 'empty' }, spec: {} } }),
        422,
      );
      expect(empty.message).toContain('either `defaultBackend` or `rules` must be specified');
    });
  });

  describe('pod graceful deletion', () => {
    const ctx = useCluster(getTarget, opts);
    const pod = (name: string, nodeName?: string): k8s.V1Pod => ({
      metadata: { name },
      spec: {
        ...(nodeName ? { nodeName } : {}),
        terminationGracePeriodSeconds: 30,
        containers: [{ name: 'main', image: 'busybox:1.36' }],
      },
    });

    it('deletes a pod that no node runs at once, whatever its grace period', async () => {
      const c = ctx();
      await defaultServiceAccount(c);
      await c.core.createNamespacedPod({ namespace: c.ns, body: pod('unscheduled') });
      const deleted = await c.core.deleteNamespacedPod({ namespace: c.ns, name: 'unscheduled' });
      expect(deleted.metadata?.name).toBe('unscheduled');
      expect(await readPod(c, 'unscheduled')).toBeUndefined();
    });

    it('keeps a bound pod Terminating for its kubelet; only a shorter grace period changes it, and 0 removes it', async () => {
      const c = ctx();
      await defaultServiceAccount(c);
      const created = await c.core.createNamespacedPod({
        namespace: c.ns,
        body: pod('bound', NO_KUBELET_NODE),
      });
      expect(created.spec?.nodeName).toBe(NO_KUBELET_NODE);
      const deleting = await c.core.deleteNamespacedPod({ namespace: c.ns, name: 'bound' });
      expect(deleting.metadata?.deletionGracePeriodSeconds).toBe(30);
      const due = new Date(deleting.metadata?.deletionTimestamp ?? 0).getTime();
      const born = new Date(created.metadata?.creationTimestamp ?? 0).getTime();
      expect(due - born).toBeGreaterThanOrEqual(29_000); // now + 30 s, in the server's own clock

      const still = await readPod(c, 'bound');
      expect(still?.metadata?.deletionTimestamp).toBeTruthy();
      expect(still?.metadata?.resourceVersion).toBe(deleting.metadata?.resourceVersion);

      const longer = await c.core.deleteNamespacedPod({
        namespace: c.ns,
        name: 'bound',
        gracePeriodSeconds: 60,
      });
      expect(longer.metadata?.deletionGracePeriodSeconds).toBe(30);
      expect(longer.metadata?.resourceVersion).toBe(deleting.metadata?.resourceVersion);

      const shorter = await c.core.deleteNamespacedPod({
        namespace: c.ns,
        name: 'bound',
        gracePeriodSeconds: 5,
      });
      expect(shorter.metadata?.deletionGracePeriodSeconds).toBe(5);
      expect(new Date(shorter.metadata?.deletionTimestamp ?? 0).getTime()).toBe(due - 25_000);

      await c.core.deleteNamespacedPod({ namespace: c.ns, name: 'bound', gracePeriodSeconds: 0 });
      expect(await readPod(c, 'bound')).toBeUndefined();
    });
  });
}
