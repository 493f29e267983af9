/**
 * The Runtime port's behaviour suite (testkit's runRuntimeContract) on the Kubernetes runtime against
 * the fake API server: sandboxes are stored custom resources (their uid owns the children), and a
 * stand-in kubelet marks the sandbox's pod Running.
 */
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { BUILTIN_TEMPLATES, resolveEffectiveSandbox, templateLookup } from '@agenttier/core';
import { runRuntimeContract } from '@agenttier/testkit';
import { KubernetesStore } from '../store/kubernetes-store.ts';
import { startFakeClusterWithCrds } from '../testing/fake-cluster.ts';
import { ROUTER } from '../testing/operator-harness.ts';
import { KubernetesRuntime } from './kubernetes-runtime.ts';

runRuntimeContract('kubernetes (fake API server)', async () => {
  const fake = await startFakeClusterWithCrds();
  const store = new KubernetesStore({ kubeConfig: fake.kubeConfig });
  await store.start();
  for (const t of BUILTIN_TEMPLATES) await store.create<SandboxTemplate>(structuredClone(t));
  const runtime = new KubernetesRuntime({
    kubeConfig: fake.kubeConfig,
    injectorImage: 'agenttier/sandboxd-injector:test',
    router: ROUTER,
    templates: templateLookup(store),
    resolver: async () => [],
  });
  await runtime.start();
  return {
    runtime,
    newSandbox: async (name: string) => {
      const sandbox = await store.create<Sandbox>({
        apiVersion: API_VERSION,
        kind: 'Sandbox',
        metadata: { name, namespace: 'default' },
        spec: { templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' } },
      });
      const { effective } = await resolveEffectiveSandbox(sandbox, templateLookup(store));
      return { sandbox, effective };
    },
    letRun: async (sandbox: Sandbox) => {
      try {
        fake.kubelet.markRunning(sandbox.metadata.namespace ?? 'default', `${sandbox.metadata.name}-pod`);
      } catch {
        // not created yet, or already running
      }
    },
    close: async () => {
      await runtime.stop();
      await store.close();
      await fake.close();
    },
  };
});
