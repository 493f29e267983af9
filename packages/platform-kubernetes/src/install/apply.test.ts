import { CustomObjectsApi } from '@kubernetes/client-node';
import type { KubernetesObject } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { applyInstallManifests } from './apply.ts';
import { renderInstallManifests } from './install-manifests.ts';

describe('agenttier install --apply (server-side apply)', () => {
  let fake: FakeKubeApiServer | undefined;
  afterEach(async () => {
    await fake?.close();
  });

  it('applies CRDs, namespace, RBAC, deployments and templates into an empty cluster, and again without changes', async () => {
    fake = await startFakeKubeApiServer();
    const objects = renderInstallManifests({ runtimeClass: undefined }) as unknown as KubernetesObject[];
    const applied = await applyInstallManifests(objects, { kubeConfig: fake.kubeConfig });
    expect(applied).toHaveLength(objects.length);
    const templates = (await fake.kubeConfig.makeApiClient(CustomObjectsApi).listClusterCustomObject({
      group: 'agenttier.io',
      version: 'v1alpha1',
      plural: 'clustersandboxtemplates',
    })) as { items: Array<{ metadata: { name: string } }> };
    expect(templates.items.map((t) => t.metadata.name).sort()).toEqual([
      'general-coding',
      'langgraph-agent',
      'minimal-shell',
    ]);
    // After the cluster's own controllers settle (CRD status, Service IPs), a re-apply changes nothing.
    fake.faults.runControllersNow();
    const settled = await applyInstallManifests(objects, { kubeConfig: fake.kubeConfig });
    fake.faults.runControllersNow();
    const before = fake.resourceVersion();
    const again = await applyInstallManifests(objects, { kubeConfig: fake.kubeConfig });
    const changed = again
      .filter((o, i) => o.metadata?.resourceVersion !== settled[i]?.metadata?.resourceVersion)
      .map((o) => `${o.kind}/${o.metadata?.name}`);
    expect(changed).toEqual([]);
    expect(fake.resourceVersion()).toBe(before); // idempotent: a re-apply changes nothing
  });
});
