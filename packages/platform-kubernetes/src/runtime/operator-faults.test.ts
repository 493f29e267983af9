import { CustomObjectsApi } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { WatchEvent } from '@agenttier/core';
import type { OperatorHarness } from '../testing/operator-harness.ts';
import { eventually } from '../testing/operator-harness.ts';
import { useOperatorHarness } from '../testing/use-operator-harness.ts';

const running = async (h: OperatorHarness, name: string) =>
  (await h.getSandbox(name))?.status?.phase === 'Running';
const writes = (h: OperatorHarness) =>
  h.fake.requests.filter((r) => !['get', 'list', 'watch'].includes(r.verb ?? '')).length;

/**
 * No pass runs, and no event of a write so far is still on its way to start one: the store's informer
 * holds the API server's latest version of the sandbox (its watch has delivered every write), the
 * controller's deferred enqueue of that event has run (one setImmediate), and the queue is drained.
 */
async function settle(h: OperatorHarness, name: string): Promise<void> {
  const raw = h.fake.kubeConfig.makeApiClient(CustomObjectsApi);
  const ids = { group: 'agenttier.io', version: 'v1alpha1', namespace: 'default', plural: 'sandboxes', name };
  await eventually(async () => {
    const onServer = (await raw.getNamespacedCustomObject(ids)) as { metadata: { resourceVersion: string } };
    return (await h.getSandbox(name))?.metadata.resourceVersion === onServer.metadata.resourceVersion;
  }, `${name}: the informer has the server's version`);
  await new Promise((r) => setImmediate(r));
  await h.controller.idle();
}

describe('operator on the fake API server: faults converge', () => {
  const h = useOperatorHarness();

  it('dropped watches, 409s, 429s and 500s on the way still end with one Running sandbox, and then no more writes', async () => {
    h.fake.faults.failNext(
      2,
      { verb: 'update', resource: 'sandboxes', subresource: 'status' },
      { code: 409 },
    );
    h.fake.faults.failNext(2, { verb: 'create', resource: 'pods' }, { code: 429, retryAfterSeconds: 0 });
    h.fake.faults.failNext(2, { verb: 'create', resource: 'persistentvolumeclaims' }, { code: 500 });
    h.fake.faults.failNext(1, { verb: 'get', resource: 'persistentvolumeclaims' }, { code: 500 });
    h.fake.faults.dropWatches({ abrupt: true });
    await h.createSandbox('faulty');
    h.fake.faults.dropWatches();
    await eventually(() => running(h, 'faulty'), 'Running despite faults', 20_000);
    const pods = await h.core.listNamespacedPod({
      namespace: 'default',
      labelSelector: 'agenttier.io/sandbox=faulty',
    });
    expect(pods.items).toHaveLength(1);

    // Level-triggered and idempotent: once settled, nothing writes again.
    h.autoKubelet(false);
    let before: number;
    do {
      before = writes(h);
      await settle(h, 'faulty');
    } while (writes(h) !== before);
    h.controller.enqueue('default', 'faulty');
    await settle(h, 'faulty');
    expect(writes(h)).toBe(before);
  });

  it('an expired watch (410) relists, and objects deleted meanwhile are reported DELETED', async () => {
    await h.createSandbox('keep');
    const doomed = await h.createSandbox('doomed', { desiredState: 'Stopped' });
    await eventually(
      async () => (await h.getSandbox('doomed'))?.status?.phase === 'Stopped',
      'doomed Stopped',
    );
    const events: WatchEvent[] = [];
    const stop = h.store.watch('Sandbox', (e) => events.push(e));
    // Hold the reconnect so the deletion happens while nobody watches, and make it expire.
    h.fake.faults.delayNext(1, { verb: 'watch', resource: 'sandboxes' }, 300);
    h.fake.faults.expireNextWatches(1);
    h.fake.faults.dropWatches();
    const raw = h.fake.kubeConfig.makeApiClient(CustomObjectsApi);
    const ids = {
      group: 'agenttier.io',
      version: 'v1alpha1',
      namespace: 'default',
      plural: 'sandboxes',
      name: 'doomed',
    };
    const current = (await raw.getNamespacedCustomObject(ids)) as { metadata: Record<string, unknown> };
    await raw.replaceNamespacedCustomObject({
      ...ids,
      body: { ...current, metadata: { ...current.metadata, finalizers: [] } },
    });
    await raw.deleteNamespacedCustomObject(ids);
    await eventually(
      () => events.some((e) => e.type === 'DELETED' && e.object.metadata.uid === doomed.metadata.uid),
      'DELETED after relist',
    );
    stop();
    expect(await h.getSandbox('doomed')).toBeUndefined();
    expect(await h.getSandbox('keep')).toBeTruthy();
  });
});
