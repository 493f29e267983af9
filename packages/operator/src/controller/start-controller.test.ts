import { CoordinationV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { KubernetesStore } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeCluster } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import type { ControllerProcess } from './start-controller.ts';
import { startController } from './start-controller.ts';

const quiet = pino({ level: 'silent' });

describe('agenttier controller (process) on the fake API server', () => {
  let fake: FakeKubeApiServer;
  const procs: ControllerProcess[] = [];
  let store: KubernetesStore | undefined;
  afterEach(async () => {
    for (const p of procs.splice(0)) await p.close();
    await store?.close();
    await fake?.close();
  });

  const start = (identity: string) =>
    startController({
      kubeConfig: fake.kubeConfig,
      namespace: 'agenttier',
      identity,
      healthPort: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      leaseDurationSeconds: 1,
      renewDeadlineMs: 800,
      retryPeriodMs: 100,
      logger: quiet,
    }).then((p) => (procs.push(p), p));

  it('elects one leader on a Lease, records an Event per transition, serves probes and metrics, and hands over', async () => {
    fake = await startFakeCluster();
    const a = await start('replica-a');
    await eventually(() => a.isLeader(), 'replica-a leads');
    const b = await start('replica-b');
    expect(b.isLeader()).toBe(false);

    store = new KubernetesStore({ kubeConfig: fake.kubeConfig });
    await store.start();
    const tmpl = structuredClone(BUILTIN_TEMPLATES[0]!) as SandboxTemplate;
    await store.create(tmpl);
    await store.create<Sandbox>({
      apiVersion: API_VERSION,
      kind: 'Sandbox',
      metadata: { name: 'ev', namespace: 'default' },
      spec: { templateRef: { name: tmpl.metadata.name, kind: 'ClusterSandboxTemplate' } },
    });
    const core = fake.kubeConfig.makeApiClient(CoreV1Api);
    await eventually(() => core.readNamespacedPod({ namespace: 'default', name: 'ev-pod' }), 'the pod');
    fake.kubelet.markRunning('default', 'ev-pod');
    await eventually(
      async () =>
        (await store!.get<Sandbox>('Sandbox', { namespace: 'default', name: 'ev' }))?.status?.phase ===
        'Running',
      'Running',
    );
    await a.events.flush();
    const events = await core.listNamespacedEvent({ namespace: 'default' });
    const reasons = events.items.filter((e) => e.involvedObject.name === 'ev').map((e) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Creating', 'Running']));
    expect(events.items.every((e) => e.source?.component === 'agenttier-controller')).toBe(true);

    const lease = await fake.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: 'agenttier', name: 'agenttier-controller-leader' });
    expect(lease.spec?.holderIdentity).toBe('replica-a');

    expect(await (await fetch(`${a.healthUrl}/healthz`)).text()).toBe('ok');
    expect((await fetch(`${a.healthUrl}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${a.metricsUrl}/metrics`)).text();
    expect(metrics).toMatch(/agenttier_controller_leader 1/);
    expect(metrics).toMatch(/agenttier_sandbox_transitions_total\{to="Running",reason="Running"\} 1/);
    expect(metrics).toMatch(/agenttier_sandboxes\{phase="Running"\} 1/);

    // The leader steps down (releasing the Lease); the standby takes over and keeps reconciling.
    await a.close();
    procs.splice(procs.indexOf(a), 1);
    await eventually(() => b.isLeader(), 'replica-b takes over');
    await core.deleteNamespacedPod({ namespace: 'default', name: 'ev-pod' });
    await eventually(async () => {
      const p = await core.readNamespacedPod({ namespace: 'default', name: 'ev-pod' }).catch(() => undefined);
      return p && !p.metadata?.deletionTimestamp;
    }, 'replica-b recreates the pod');
  });
});
