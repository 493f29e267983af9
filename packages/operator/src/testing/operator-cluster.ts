// The clusters the operator's behavioural suite (operator-behaviour.ts) runs against: the fake API
// server (unit project, every run) and the cluster named by KUBECONFIG (integration project, when
// AGENTTIER_REAL_KUBE=1). The suite sees only this interface, so it runs unchanged on both.
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { applyInstallManifests, renderInstallManifests } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { checkCluster } from '../preflight.ts';
import { startApiKubelet } from './api-kubelet.ts';
import { startFakeCluster } from './fake-cluster.ts';

export const DEFAULT_E2E_IMAGE = 'agenttier/minimal-shell:dev';
export const DEFAULT_E2E_INJECTOR_IMAGE = 'agenttier/sandboxd-injector:dev';

export interface OperatorCluster {
  /** 'fake' or 'real', for messages. */
  kind: 'fake' | 'real';
  kubeConfig: KubeConfig;
  /** The sandbox image (its template's `image.repository`) and the sandboxd injector image. */
  image: string;
  injectorImage: string;
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /** Storage class of the test workspaces (unset: the cluster's default). */
  storageClass?: string;
  /** How long any observable state may take to appear (image start, GC, pod termination). */
  waitMs: number;
  /** How often waits poll the API server. */
  pollMs: number;
  /** Keep the namespace and its objects after the run (debugging a real cluster). */
  keepNamespace: boolean;
  /**
   * What a kubelet does: sandbox pods in `namespace` go Running and Ready. On the fake a stand-in
   * marks them (until the returned function is called); on a real cluster the kubelet does it, so
   * this is a no-op.
   */
  runPods(namespace: string): () => void;
  close(): Promise<void>;
}

function envOr(name: string, fallback: string): string {
  const v = process.env[name]?.trim();
  return v ? v : fallback;
}

function pullPolicyFromEnv(): OperatorCluster['pullPolicy'] {
  const v = envOr('AGENTTIER_E2E_PULL_POLICY', 'IfNotPresent');
  if (v !== 'Always' && v !== 'IfNotPresent' && v !== 'Never')
    throw new Error(`AGENTTIER_E2E_PULL_POLICY must be Always, IfNotPresent or Never (got "${v}")`);
  return v;
}

/** The fake API server with the committed CRDs, and its stand-in kubelet. */
export async function fakeOperatorCluster(): Promise<OperatorCluster> {
  const fake: FakeKubeApiServer = await startFakeCluster();
  const core = fake.kubeConfig.makeApiClient(CoreV1Api);
  return {
    kind: 'fake',
    kubeConfig: fake.kubeConfig,
    image: DEFAULT_E2E_IMAGE,
    injectorImage: DEFAULT_E2E_INJECTOR_IMAGE,
    pullPolicy: 'IfNotPresent',
    waitMs: 15_000,
    pollMs: 25,
    keepNamespace: false,
    runPods(namespace) {
      const pass = async () => {
        const pods = await core.listNamespacedPod({ namespace, labelSelector: 'agenttier.io/managed=true' });
        for (const p of pods.items) {
          const phase = p.status?.phase;
          if (p.metadata?.deletionTimestamp || (phase && phase !== 'Pending')) continue;
          try {
            fake.kubelet.markRunning(namespace, p.metadata!.name!);
          } catch {
            // deleted meanwhile
          }
        }
      };
      const timer = setInterval(() => void pass().catch(() => undefined), 30);
      return () => clearInterval(timer);
    },
    close: () => fake.close(),
  };
}

/**
 * Refuses to run next to another AgentTier controller: the in-process controller reconciles every
 * Sandbox in the cluster, and two controllers on the same objects fight.
 */
async function assertNoOtherController(kc: KubeConfig, installNamespace: string): Promise<void> {
  const leases = kc.makeApiClient(CoordinationV1Api);
  const lease = await leases
    .readNamespacedLease({ namespace: installNamespace, name: 'agenttier-controller-leader' })
    .catch(() => undefined);
  const holder = lease?.spec?.holderIdentity;
  const renewed = lease?.spec?.renewTime ? new Date(lease.spec.renewTime).getTime() : 0;
  const duration = (lease?.spec?.leaseDurationSeconds ?? 15) * 1000;
  if (holder && Date.now() - renewed < duration * 4) {
    throw new Error(
      `an AgentTier controller (${holder}) holds the Lease ${installNamespace}/agenttier-controller-leader; ` +
        `the test runs its own controller, and two would fight over every Sandbox. Scale it to 0 ` +
        `(kubectl -n ${installNamespace} scale deploy/agenttier-controller --replicas=0) or use a throwaway cluster`,
    );
  }
}

/**
 * The cluster KUBECONFIG names (its current context). Installs or updates the agenttier.io CRDs by
 * server-side apply (field manager agenttier-install, as `agenttier install --apply`) unless
 * AGENTTIER_E2E_APPLY_CRDS=0, in which case they must already be installed.
 */
export async function realOperatorCluster(env: NodeJS.ProcessEnv = process.env): Promise<OperatorCluster> {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  await checkCluster(kc, { requireCrds: false });
  await assertNoOtherController(kc, envOr('AGENTTIER_E2E_INSTALL_NAMESPACE', 'agenttier'));
  const applyCrds = env.AGENTTIER_E2E_APPLY_CRDS !== '0';
  if (applyCrds) {
    const crds = renderInstallManifests().filter((o) => o.kind === 'CustomResourceDefinition');
    try {
      await applyInstallManifests(crds as KubernetesObject[], { kubeConfig: kc, crdTimeoutMs: 60_000 });
    } catch (err) {
      throw new Error(
        `applying the agenttier.io CRDs failed (${String(err)}); install them yourself ` +
          `(kubectl apply --server-side -k deploy/crds) and set AGENTTIER_E2E_APPLY_CRDS=0`,
        { cause: err },
      );
    }
  }
  // Discovery may lag the CRDs' Established condition for a moment.
  for (let attempt = 0; ; attempt++) {
    try {
      await checkCluster(kc, { requireCrds: true });
      break;
    } catch (err) {
      if (!applyCrds || attempt >= 30) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  const waitMs = Number(env.AGENTTIER_E2E_WAIT_MS) > 0 ? Number(env.AGENTTIER_E2E_WAIT_MS) : 180_000;
  const storageClass = env.AGENTTIER_E2E_STORAGE_CLASS?.trim();
  return {
    kind: 'real',
    kubeConfig: kc,
    image: envOr('AGENTTIER_E2E_IMAGE', DEFAULT_E2E_IMAGE),
    injectorImage: envOr('AGENTTIER_E2E_INJECTOR_IMAGE', DEFAULT_E2E_INJECTOR_IMAGE),
    pullPolicy: pullPolicyFromEnv(),
    ...(storageClass ? { storageClass } : {}),
    waitMs,
    pollMs: 500,
    keepNamespace: env.AGENTTIER_E2E_KEEP === '1',
    // AGENTTIER_E2E_KUBELET=emulated: a server without nodes (scripts/kube.sh); see api-kubelet.ts.
    runPods:
      env.AGENTTIER_E2E_KUBELET === 'emulated'
        ? (namespace) => {
            const kubelet = startApiKubelet(kc, namespace);
            return () => kubelet.stop();
          }
        : () => () => undefined,
    close: async () => undefined,
  };
}
