// The leading controller killed without warning (SIGKILL of its process: no graceful Lease release)
// on a real API server (scripts/kube.sh; any cluster: AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest
// run --project integration leader-hard-kill.real). The standby may take the Lease only once it has
// expired, there is never a second holder meanwhile, and sandboxes keep converging under the new leader.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { V1Lease } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, Watch, setHeaderOptions } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { API_GROUP, API_VERSION } from '@agenttier/contract';
import { describeOnRealCluster, eventually } from '@agenttier/testkit';
import type { OperatorCluster } from '../testing/index.ts';
import { realOperatorCluster } from '../testing/index.ts';
import type { ControllerProcess, ControllerProcessOpts } from './start-controller.ts';
import { startController } from './start-controller.ts';

const LEASE = 'agenttier-controller-leader';
const LEASE_SECONDS = 4;
interface LeaseSeen {
  holder: string;
  acquireMs: number;
  renewMs: number;
  transitions: number;
}

describeOnRealCluster('leader hard kill (real server)', () => {
  describe('the leading controller killed without a Lease release', () => {
    const ns = `hardkill-${randomBytes(3).toString('hex')}`;
    let cluster: OperatorCluster;
    let child: ChildProcess | undefined;
    let standby: ControllerProcess | undefined;
    let stopPods: (() => void) | undefined;
    let watch: AbortController | undefined;
    const seen: LeaseSeen[] = [];
    const ids = { group: API_GROUP, version: 'v1alpha1', namespace: ns };
    const custom = () => cluster.kubeConfig.makeApiClient(CustomObjectsApi);
    const replica = (identity: string): ControllerProcessOpts => ({
      namespace: ns,
      identity,
      sandboxNamespaces: [ns],
      leaseDurationSeconds: LEASE_SECONDS,
      renewDeadlineMs: 3000,
      retryPeriodMs: 250,
      injectorImage: cluster.injectorImage,
    });
    const phaseOf = async (name: string) =>
      (
        (await custom()
          .getNamespacedCustomObject({ ...ids, plural: 'sandboxes', name })
          .catch(() => undefined)) as Sandbox | undefined
      )?.status?.phase;
    const createSandbox = (name: string) =>
      custom().createNamespacedCustomObject({
        ...ids,
        plural: 'sandboxes',
        body: {
          apiVersion: API_VERSION,
          kind: 'Sandbox',
          metadata: { name, namespace: ns },
          spec: { templateRef: { name: 'shell', kind: 'SandboxTemplate' } },
        },
      });

    beforeAll(async () => {
      cluster = await realOperatorCluster();
      await cluster.kubeConfig
        .makeApiClient(CoreV1Api)
        .createNamespace({ body: { metadata: { name: ns, labels: { 'agenttier.io/e2e': 'true' } } } });
      await custom().createNamespacedCustomObject({
        ...ids,
        plural: 'sandboxtemplates',
        body: {
          apiVersion: API_VERSION,
          kind: 'SandboxTemplate',
          metadata: { name: 'shell', namespace: ns },
          spec: {
            mode: 'code',
            image: { repository: cluster.image, pullPolicy: cluster.pullPolicy },
            resources: { limits: { cpu: '100m', memory: '256Mi' } },
            storage: { size: '1Gi', mountPath: '/workspace' },
            harness: { shell: '/bin/bash', workingDir: '/workspace' },
          },
        },
      });
      stopPods = cluster.runPods(ns);
      // Every write to the Lease, in order: who held it and the times each holder wrote.
      const ms = (t: unknown) => (t ? new Date(String(t)).getTime() : 0);
      watch = await new Watch(cluster.kubeConfig).watch(
        `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
        {},
        (_type, lease: V1Lease) => {
          if (lease.metadata?.name !== LEASE) return;
          seen.push({
            holder: lease.spec?.holderIdentity ?? '',
            acquireMs: ms(lease.spec?.acquireTime),
            renewMs: ms(lease.spec?.renewTime),
            transitions: lease.spec?.leaseTransitions ?? 0,
          });
        },
        () => undefined,
      );
    }, 300_000);

    afterAll(async () => {
      watch?.abort();
      if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      // With a controller still running, so that it releases the finalizers.
      await custom()
        .deleteCollectionNamespacedCustomObject({ ...ids, plural: 'sandboxes' })
        .catch(() => undefined);
      await eventually(
        async () =>
          (
            (await custom().listNamespacedCustomObject({ ...ids, plural: 'sandboxes' })) as {
              items: unknown[];
            }
          ).items.length === 0,
        'the sandboxes to go',
        60_000,
      ).catch(() => undefined);
      stopPods?.();
      await standby?.close();
      await cluster.kubeConfig
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: ns })
        .catch(() => undefined);
    }, 300_000);

    it('the standby takes the Lease only after it expired, never beside the old leader, and reconciles on', async () => {
      // Replica A leads, as a process of its own.
      child = spawn(
        process.execPath,
        [
          '--import',
          'tsx',
          new URL('../testing/controller-child.ts', import.meta.url).pathname,
          JSON.stringify(replica('replica-a')),
        ],
        { stdio: ['ignore', 'inherit', 'inherit'], env: process.env },
      );
      await eventually(
        () => seen.some((s) => s.holder === 'replica-a'),
        'replica-a to hold the Lease',
        120_000,
      );
      standby = await startController({
        ...replica('replica-b'),
        kubeConfig: cluster.kubeConfig,
        healthPort: 0,
        metricsPort: 0,
        host: '127.0.0.1',
        logger: pino({ level: process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'silent' }, pino.destination(2)),
      });
      await createSandbox('before');
      await eventually(
        async () => (await phaseOf('before')) === 'Running',
        'before Running (replica-a)',
        120_000,
      );
      expect(standby.isLeader()).toBe(false);
      // A has renewed at least once while B campaigned.
      await eventually(
        () => seen.filter((s) => s.holder === 'replica-a').length >= 3,
        'replica-a to renew',
        30_000,
      );

      child.kill('SIGKILL');
      await once(child, 'exit');
      await eventually(() => standby!.isLeader(), 'replica-b to lead', 60_000);
      // isLeader() turns true when B's write returns; the watch may deliver that write a moment later.
      await eventually(
        () => seen.some((s) => s.holder === 'replica-b'),
        "the watch to see replica-b's Lease",
        30_000,
      );

      // The holder went from A to B once: no write by B while A held a valid Lease, none by A after.
      const holders = seen.map((s) => s.holder).filter((h, i, all) => i === 0 || all[i - 1] !== h);
      expect(holders).toEqual(['replica-a', 'replica-b']);
      const lastOfA = seen.filter((s) => s.holder === 'replica-a').at(-1)!;
      const firstOfB = seen.find((s) => s.holder === 'replica-b')!;
      expect(firstOfB.transitions).toBe(lastOfA.transitions + 1);
      // B acquired only after A's last renewal had run out (the same clock wrote both times).
      expect(firstOfB.acquireMs - lastOfA.renewMs).toBeGreaterThan(LEASE_SECONDS * 1000);

      // The new leader carries on: a new sandbox starts, the old one stops.
      await createSandbox('after');
      await custom().patchNamespacedCustomObject(
        { ...ids, plural: 'sandboxes', name: 'before', body: { spec: { desiredState: 'Stopped' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
      await eventually(
        async () => (await phaseOf('after')) === 'Running',
        'after Running (replica-b)',
        120_000,
      );
      await eventually(
        async () => (await phaseOf('before')) === 'Stopped',
        'before Stopped (replica-b)',
        120_000,
      );
    });
  });
});
