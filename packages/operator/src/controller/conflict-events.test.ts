import { CoreV1Api } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { KubernetesStore } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeCluster, startTestController } from '../testing/index.ts';
import { eventually } from '@agenttier/testkit';
import type { ControllerProcess } from './start-controller.ts';

describe('optimistic-concurrency conflicts as Events', () => {
  let fake: FakeKubeApiServer | undefined;
  let controller: ControllerProcess | undefined;
  let store: KubernetesStore | undefined;
  afterEach(async () => {
    await controller?.close();
    await store?.close();
    await fake?.close();
  });

  it("a 409 on a Sandbox's status write becomes one UpdateConflict Event on it; the sandbox still converges", async () => {
    fake = await startFakeCluster();
    controller = await startTestController(fake);
    store = new KubernetesStore({ kubeConfig: fake.kubeConfig });
    await store.start();
    const tmpl = structuredClone(BUILTIN_TEMPLATES[0]!) as SandboxTemplate;
    await store.create(tmpl);
    // Two conflicting writes in a row (as while someone edits the object): one Event, not two.
    fake.faults.failNext(2, { verb: 'update', resource: 'sandboxes', subresource: 'status' }, { code: 409 });
    await store.create<Sandbox>({
      apiVersion: API_VERSION,
      kind: 'Sandbox',
      metadata: { name: 'busy', namespace: 'default' },
      spec: { templateRef: { name: tmpl.metadata.name, kind: 'ClusterSandboxTemplate' } },
    });
    const core = fake.kubeConfig.makeApiClient(CoreV1Api);
    await eventually(() => core.readNamespacedPod({ namespace: 'default', name: 'busy-pod' }), 'the pod');
    fake.kubelet.markRunning('default', 'busy-pod');
    await eventually(
      async () =>
        (await store!.get<Sandbox>('Sandbox', { namespace: 'default', name: 'busy' }))?.status?.phase ===
        'Running',
      'Running',
    );
    await controller.events.flush();
    const events = await core.listNamespacedEvent({
      namespace: 'default',
      fieldSelector: 'involvedObject.name=busy,reason=UpdateConflict',
    });
    expect(events.items).toHaveLength(1);
    expect(events.items[0]).toMatchObject({
      type: 'Normal',
      involvedObject: { kind: 'Sandbox', name: 'busy' },
      source: { component: 'agenttier-controller' },
    });
    expect(events.items[0]?.message).toMatch(
      /^The Sandbox changed while the controller was writing its status \(it had read resourceVersion \d+\); the controller read it again and retried$/,
    );
  });
});
