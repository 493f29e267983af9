import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import type { ControllerProcess } from './controller/start-controller.ts';
import { startController } from './controller/start-controller.ts';

const run = promisify(execFile);
const script = join(import.meta.dirname, '../../../scripts/deploy-k8s.sh');

/**
 * Stands in for the cluster's Deployment controller and kubelet: Deployments report their replicas
 * available, sandbox pods become Running and Ready.
 */
function simulateCluster(fake: FakeKubeApiServer): () => void {
  const apps = fake.kubeConfig.makeApiClient(AppsV1Api);
  const core = fake.kubeConfig.makeApiClient(CoreV1Api);
  const timer = setInterval(() => {
    void (async () => {
      const deps = await apps.listNamespacedDeployment({ namespace: 'agenttier' });
      for (const d of deps.items) {
        const replicas = d.spec?.replicas ?? 1;
        if (
          d.status?.availableReplicas === replicas &&
          d.status?.observedGeneration === d.metadata?.generation
        )
          continue;
        await apps.replaceNamespacedDeploymentStatus({
          namespace: 'agenttier',
          name: d.metadata!.name!,
          body: {
            ...d,
            status: {
              observedGeneration: d.metadata?.generation ?? 1,
              replicas,
              updatedReplicas: replicas,
              readyReplicas: replicas,
              availableReplicas: replicas,
              conditions: [
                { type: 'Available', status: 'True', reason: 'MinimumReplicasAvailable', message: 'ok' },
                { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable', message: 'ok' },
              ],
            },
          },
        });
      }
      const pods = await core.listPodForAllNamespaces({ labelSelector: 'agenttier.io/managed=true' });
      for (const p of pods.items) {
        if (!p.status?.phase || p.status.phase === 'Pending')
          fake.kubelet.markRunning(p.metadata!.namespace!, p.metadata!.name!);
      }
    })().catch(() => undefined);
  }, 100);
  return () => clearInterval(timer);
}

describe('scripts/deploy-k8s.sh against the fake API server', () => {
  let fake: FakeKubeApiServer | undefined;
  let controller: ControllerProcess | undefined;
  let stopSim: (() => void) | undefined;
  afterEach(async () => {
    stopSim?.();
    await controller?.close();
    await fake?.close();
  });

  it('installs the CRDs, waits for them and the controller, then runs a sandbox to Running', async () => {
    fake = await startFakeKubeApiServer();
    stopSim = simulateCluster(fake);
    // The controller the manifests deploy, run here in-process once its namespace exists.
    let gaveUp = false;
    const starting = (async () => {
      const core = fake!.kubeConfig.makeApiClient(CoreV1Api);
      while (!gaveUp) {
        try {
          await core.readNamespace({ name: 'agenttier' });
          break;
        } catch {
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      if (gaveUp) return;
      controller = await startController({
        kubeConfig: fake!.kubeConfig,
        namespace: 'agenttier',
        identity: 'deploy-test',
        healthPort: 0,
        metricsPort: 0,
        host: '127.0.0.1',
        retryPeriodMs: 200,
        logger: pino({ level: 'silent' }),
      });
    })();
    // The base: the fake does not serve node.k8s.io RuntimeClasses, which the overlays add
    // (deploy-manifests.test.ts checks those objects locally).
    let stderr: string;
    try {
      ({ stderr } = await run('bash', [script], {
        env: { ...process.env, KUBECONFIG: fake.kubeconfigPath, TIMEOUT: '60', SANDBOX: 'smoke' },
        encoding: 'utf8',
      }));
    } finally {
      gaveUp = true;
      await starting.catch(() => undefined);
    }
    expect(stderr).toContain('CRDs Established');
    expect(stderr).toContain('controller and router are ready');
    expect(stderr).toContain('sandbox smoke is Running');
    expect(stderr).toContain('smoke-test sandbox deleted');
  }, 120_000);

  it('fails clearly when there is no cluster', async () => {
    await expect(
      run('bash', [script], { env: { ...process.env, KUBECONFIG: '/nonexistent' }, encoding: 'utf8' }),
    ).rejects.toMatchObject({ stderr: expect.stringContaining('no cluster answers') });
  });
});
