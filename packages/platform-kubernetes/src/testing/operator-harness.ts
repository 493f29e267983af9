import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import type { Controller } from '@agenttier/core';
import { BUILTIN_TEMPLATES, createController, silentLogger, templateLookup } from '@agenttier/core';
import { CoreV1Api, NetworkingV1Api } from '@kubernetes/client-node';
import type { V1Pod } from '@kubernetes/client-node';
import { KubernetesRuntime } from '../runtime/kubernetes-runtime.ts';
import type { KubernetesRuntimeOpts } from '../runtime/kubernetes-runtime.ts';
import { KubernetesStore } from '../store/kubernetes-store.ts';
import { withChildNamesInStatus } from '../store/status-names.ts';
import { startFakeClusterWithCrds } from './fake-cluster.ts';

export const ROUTER = {
  namespace: 'agenttier',
  podLabels: { 'app.kubernetes.io/name': 'agenttier', 'app.kubernetes.io/component': 'router' },
};

export interface OperatorHarness {
  fake: FakeKubeApiServer;
  store: KubernetesStore;
  runtime: KubernetesRuntime;
  controller: Controller;
  core: CoreV1Api;
  net: NetworkingV1Api;
  /** Marks every pending sandbox pod Running and Ready, as a kubelet would (until stopped). */
  autoKubelet(on: boolean): void;
  createSandbox(name: string, spec?: Partial<Sandbox['spec']>, namespace?: string): Promise<Sandbox>;
  getSandbox(name: string, namespace?: string): Promise<Sandbox | undefined>;
  pod(name: string, namespace?: string): Promise<V1Pod | undefined>;
  close(): Promise<void>;
}

/** Polls `fn` until it returns a truthy value (observable state, never sleeps as assertions). */
export { eventually } from '@agenttier/testkit';

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return undefined;
    throw err;
  }
}

/**
 * The whole Kubernetes platform against the fake API server: our CRDs, the store, the runtime and
 * core's unchanged controller, plus a stand-in kubelet.
 */
export async function startOperatorHarness(
  opts: Partial<KubernetesRuntimeOpts> = {},
): Promise<OperatorHarness> {
  const fake = await startFakeClusterWithCrds();
  const store = new KubernetesStore({ kubeConfig: fake.kubeConfig });
  await store.start();
  for (const t of BUILTIN_TEMPLATES) await store.create<SandboxTemplate>(structuredClone(t));
  // The runtime reports pod changes to the controller, which is created after it.
  const ref: { controller?: Controller } = {};
  const runtime = new KubernetesRuntime({
    kubeConfig: fake.kubeConfig,
    injectorImage: 'agenttier/sandboxd-injector:test',
    router: ROUTER,
    templates: templateLookup(store),
    resolver: async (d) => (d === 'api.example.com' ? ['203.0.113.10', '2001:db8::10'] : []),
    onPodChange: (ns, name) => ref.controller?.enqueue(ns, name),
    ...opts,
  });
  await runtime.start();
  const controller = createController({
    store: withChildNamesInStatus(store),
    runtime,
    logger: silentLogger,
    resyncIntervalMs: 60_000,
  });
  ref.controller = controller;
  await controller.start();
  const core = fake.kubeConfig.makeApiClient(CoreV1Api);
  const net = fake.kubeConfig.makeApiClient(NetworkingV1Api);

  let kubeletTimer: NodeJS.Timeout | undefined;
  const kubeletPass = async () => {
    const pods = await core.listPodForAllNamespaces({ labelSelector: 'agenttier.io/managed=true' });
    for (const p of pods.items) {
      if (
        p.metadata?.deletionTimestamp ||
        p.status?.phase === 'Running' ||
        p.status?.phase === 'Succeeded' ||
        p.status?.phase === 'Failed'
      )
        continue;
      try {
        fake.kubelet.markRunning(p.metadata!.namespace!, p.metadata!.name!);
      } catch {
        // deleted meanwhile
      }
    }
  };
  const h: OperatorHarness = {
    fake,
    store,
    runtime,
    controller,
    core,
    net,
    autoKubelet(on) {
      if (kubeletTimer) clearInterval(kubeletTimer);
      kubeletTimer = on ? setInterval(() => void kubeletPass().catch(() => undefined), 30) : undefined;
    },
    createSandbox(name, spec = {}, namespace = 'default') {
      return store.create<Sandbox>({
        apiVersion: API_VERSION,
        kind: 'Sandbox',
        metadata: { name, namespace },
        spec: { templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' }, ...spec },
      });
    },
    getSandbox: (name, namespace = 'default') => store.get<Sandbox>('Sandbox', { namespace, name }),
    pod: (name, namespace = 'default') =>
      orUndefined(core.readNamespacedPod({ namespace, name: `${name}-pod` })),
    async close() {
      if (kubeletTimer) clearInterval(kubeletTimer);
      await controller.stop();
      await runtime.stop();
      await store.close();
      await fake.close();
    },
  };
  return h;
}
