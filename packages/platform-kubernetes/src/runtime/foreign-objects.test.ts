import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { OperatorHarness } from '../testing/operator-harness.ts';
import { eventually, startOperatorHarness } from '../testing/operator-harness.ts';
import { useOperatorHarness } from '../testing/use-operator-harness.ts';

/**
 * An attacker (or just a colleague) already has objects named like a sandbox's children in the
 * namespace: `payments-sa`, `payments-sandboxd-token`, … Creating a sandbox called `payments` must
 * not replace, update or delete any of them; it reports the conflict and waits for the name.
 */
const NS = 'default';
const SANDBOX = 'payments';
const FOREIGN_LABELS = { team: 'billing' };

type Kind = 'Pod' | 'PersistentVolumeClaim' | 'ServiceAccount' | 'Secret' | 'NetworkPolicy';
interface Meta {
  metadata?: { uid?: string; resourceVersion?: string; ownerReferences?: unknown[] };
}

function foreign(h: OperatorHarness, kind: Kind) {
  const metadata = (name: string) => ({ name, namespace: NS, labels: FOREIGN_LABELS });
  const namespace = NS;
  switch (kind) {
    case 'Pod':
      return {
        name: `${SANDBOX}-pod`,
        create: () =>
          h.core.createNamespacedPod({
            namespace,
            body: {
              metadata: metadata(`${SANDBOX}-pod`),
              spec: { containers: [{ name: 'app', image: 'billing/app:1' }] },
            },
          }),
        read: (): Promise<Meta> => h.core.readNamespacedPod({ namespace, name: `${SANDBOX}-pod` }),
        remove: () =>
          h.core.deleteNamespacedPod({ namespace, name: `${SANDBOX}-pod`, gracePeriodSeconds: 0 }),
      };
    case 'PersistentVolumeClaim':
      return {
        name: `${SANDBOX}-workspace`,
        create: () =>
          h.core.createNamespacedPersistentVolumeClaim({
            namespace,
            body: {
              metadata: metadata(`${SANDBOX}-workspace`),
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
            },
          }),
        read: (): Promise<Meta> =>
          h.core.readNamespacedPersistentVolumeClaim({ namespace, name: `${SANDBOX}-workspace` }),
        remove: () =>
          h.core.deleteNamespacedPersistentVolumeClaim({ namespace, name: `${SANDBOX}-workspace` }),
      };
    case 'ServiceAccount':
      return {
        name: `${SANDBOX}-sa`,
        create: () =>
          h.core.createNamespacedServiceAccount({ namespace, body: { metadata: metadata(`${SANDBOX}-sa`) } }),
        read: (): Promise<Meta> => h.core.readNamespacedServiceAccount({ namespace, name: `${SANDBOX}-sa` }),
        remove: () => h.core.deleteNamespacedServiceAccount({ namespace, name: `${SANDBOX}-sa` }),
      };
    case 'Secret':
      return {
        name: `${SANDBOX}-sandboxd-token`,
        create: () =>
          h.core.createNamespacedSecret({
            namespace,
            body: {
              metadata: metadata(`${SANDBOX}-sandboxd-token`),
              stringData: { 'db-password': 'hunter2' },
            },
          }),
        read: (): Promise<Meta> =>
          h.core.readNamespacedSecret({ namespace, name: `${SANDBOX}-sandboxd-token` }),
        remove: () => h.core.deleteNamespacedSecret({ namespace, name: `${SANDBOX}-sandboxd-token` }),
      };
    case 'NetworkPolicy':
      return {
        name: `${SANDBOX}-netpol`,
        create: () =>
          h.net.createNamespacedNetworkPolicy({
            namespace,
            body: {
              metadata: metadata(`${SANDBOX}-netpol`),
              spec: { podSelector: { matchLabels: FOREIGN_LABELS }, policyTypes: ['Ingress'] },
            },
          }),
        read: (): Promise<Meta> =>
          h.net.readNamespacedNetworkPolicy({ namespace, name: `${SANDBOX}-netpol` }),
        remove: () => h.net.deleteNamespacedNetworkPolicy({ namespace, name: `${SANDBOX}-netpol` }),
      };
  }
}

async function gone(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (err) {
    if ((err as { code?: number }).code === 404) return true;
    throw err;
  }
}

const KINDS: Kind[] = ['Pod', 'PersistentVolumeClaim', 'ServiceAccount', 'Secret', 'NetworkPolicy'];

describe('objects the controller does not own are never touched', () => {
  const h = useOperatorHarness();

  it.each(KINDS)(
    'a pre-existing %s under a child name is left as it is; the sandbox reports the conflict and starts once it is removed',
    async (kind) => {
      const f = foreign(h, kind);
      await f.create();
      const before = await f.read();
      await h.createSandbox(SANDBOX);

      const blocked = await eventually(async () => {
        const sb = await h.getSandbox(SANDBOX);
        return sb?.status?.message?.includes(`${kind} ${NS}/${f.name} already exists`) ? sb : undefined;
      }, 'the conflict in status');
      expect(blocked.status?.message).toContain(`does not belong to sandbox "${SANDBOX}"`);
      expect(blocked.status?.phase).not.toBe('Error');
      await h.controller.idle();
      const after = await f.read();
      expect(after.metadata?.uid).toBe(before.metadata?.uid);
      expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
      expect(after.metadata?.ownerReferences ?? []).toEqual([]);

      await f.remove();
      await eventually(() => gone(f.read()), `the foreign ${kind} gone`);
      const running = await eventually(
        async () => {
          const sb = await h.getSandbox(SANDBOX);
          return sb?.status?.phase === 'Running' ? sb : undefined;
        },
        'Running once the name is free',
        40_000,
      );
      // The object under that name is now the sandbox's own.
      const mine = await f.read();
      expect(mine.metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Sandbox', uid: running.metadata.uid, controller: true }),
      ]);
    },
    60_000,
  );

  it('with sandbox namespaces configured, a sandbox elsewhere goes to Error saying where sandboxes may live, and nothing is created for it', async () => {
    // Its own harness, with the namespaces configured (the shared one hosts every namespace).
    const scoped = await startOperatorHarness({ sandboxNamespaces: [NS] });
    try {
      scoped.autoKubelet(true);
      await scoped.core.createNamespace({ body: { metadata: { name: 'billing' } } });
      await scoped.createSandbox('ledger', {}, 'billing');
      const failed = await eventually(async () => {
        const sb = await scoped.getSandbox('ledger', 'billing');
        return sb?.status?.phase === 'Error' ? sb : undefined;
      }, 'Error');
      expect(failed.status?.message).toContain(
        'namespace "billing" does not host sandboxes; use one of default',
      );
      const pvcs = await scoped.core.listNamespacedPersistentVolumeClaim({ namespace: 'billing' });
      const sas = await scoped.core.listNamespacedServiceAccount({ namespace: 'billing' });
      expect(pvcs.items).toEqual([]);
      expect(sas.items.filter((s) => s.metadata?.name?.startsWith('ledger'))).toEqual([]);
      // The hosted namespace works as before.
      await scoped.createSandbox('ledger');
      await eventually(
        async () => (await scoped.getSandbox('ledger'))?.status?.phase === 'Running',
        'Running',
      );
    } finally {
      await scoped.close();
    }
  });

  it('stopping and deleting a sandbox leave the foreign Pod and claim under its names alone', async () => {
    const pod = foreign(h, 'Pod');
    const pvc = foreign(h, 'PersistentVolumeClaim');
    await pod.create();
    await pvc.create();
    const before = await Promise.all([pod.read(), pvc.read()]);
    await h.createSandbox(SANDBOX);
    await eventually(
      async () => (await h.getSandbox(SANDBOX))?.status?.message?.includes('does not belong'),
      'the conflict',
    );

    const sb = (await h.getSandbox(SANDBOX))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
    await eventually(async () => (await h.getSandbox(SANDBOX))?.status?.phase === 'Stopped', 'Stopped');
    await h.store.delete('Sandbox', { namespace: NS, name: SANDBOX });
    await eventually(async () => (await h.getSandbox(SANDBOX)) === undefined, 'the sandbox gone');

    const after = await Promise.all([pod.read(), pvc.read()]);
    for (const [i, o] of after.entries()) {
      expect(o.metadata?.uid).toBe(before[i]!.metadata?.uid);
      expect(o.metadata?.resourceVersion).toBe(before[i]!.metadata?.resourceVersion);
    }
  });
});
