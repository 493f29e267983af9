import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import type { OperatorHarness } from '../testing/operator-harness.ts';
import { eventually, startOperatorHarness } from '../testing/operator-harness.ts';
import { useOperatorHarness } from '../testing/use-operator-harness.ts';
import { DomainRefresher } from './domain-refresher.ts';

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

describe('claims of ownership that are not an owner reference to this Sandbox', () => {
  const h = useOperatorHarness();

  it("labels carrying a live sandbox's uid adopt nothing: a labelled ServiceAccount, Secret and NetworkPolicy stay as they are, and the sandbox reports each", async () => {
    // Stopped first, so its uid is known before any child exists and the claims are in place first.
    const sb = await h.createSandbox(SANDBOX, { desiredState: 'Stopped' });
    const labels = {
      ...FOREIGN_LABELS,
      'agenttier.io/managed': 'true',
      'agenttier.io/sandbox': SANDBOX,
      'agenttier.io/sandbox-uid': sb.metadata.uid!,
    };
    const metadata = (name: string) => ({ name, namespace: NS, labels });
    const namespace = NS;
    const claims = [
      {
        what: `ServiceAccount ${NS}/${SANDBOX}-sa`,
        read: (): Promise<Meta> => h.core.readNamespacedServiceAccount({ namespace, name: `${SANDBOX}-sa` }),
        remove: () => h.core.deleteNamespacedServiceAccount({ namespace, name: `${SANDBOX}-sa` }),
      },
      {
        what: `Secret ${NS}/${SANDBOX}-sandboxd-token`,
        read: (): Promise<Meta> =>
          h.core.readNamespacedSecret({ namespace, name: `${SANDBOX}-sandboxd-token` }),
        remove: () => h.core.deleteNamespacedSecret({ namespace, name: `${SANDBOX}-sandboxd-token` }),
      },
      {
        what: `NetworkPolicy ${NS}/${SANDBOX}-netpol`,
        read: (): Promise<Meta> =>
          h.net.readNamespacedNetworkPolicy({ namespace, name: `${SANDBOX}-netpol` }),
        remove: () => h.net.deleteNamespacedNetworkPolicy({ namespace, name: `${SANDBOX}-netpol` }),
      },
    ];
    await h.core.createNamespacedServiceAccount({ namespace, body: { metadata: metadata(`${SANDBOX}-sa`) } });
    await h.core.createNamespacedSecret({
      namespace,
      body: { metadata: metadata(`${SANDBOX}-sandboxd-token`), stringData: { 'db-password': 'hunter2' } },
    });
    await h.net.createNamespacedNetworkPolicy({
      namespace,
      body: {
        metadata: metadata(`${SANDBOX}-netpol`),
        spec: { podSelector: { matchLabels: FOREIGN_LABELS }, policyTypes: ['Ingress'] },
      },
    });
    const before = await Promise.all(claims.map((c) => c.read()));
    const stopped = (await h.getSandbox(SANDBOX))!;
    await h.store.update<Sandbox>({ ...stopped, spec: { ...stopped.spec, desiredState: 'Running' } });

    // Each claim in turn blocks the start (in the order the children are made) until it is removed.
    for (const [i, claim] of claims.entries()) {
      await eventually(
        async () => (await h.getSandbox(SANDBOX))?.status?.message?.includes(`${claim.what} already exists`),
        `the conflict over ${claim.what}`,
      );
      await h.controller.idle();
      for (let j = i; j < claims.length; j++) {
        const now = await claims[j]!.read();
        expect(now.metadata?.uid).toBe(before[j]!.metadata?.uid);
        expect(now.metadata?.resourceVersion).toBe(before[j]!.metadata?.resourceVersion);
      }
      await claim.remove();
    }
    h.autoKubelet(true);
    const running = await eventually(
      async () => {
        const now = await h.getSandbox(SANDBOX);
        return now?.status?.phase === 'Running' ? now : undefined;
      },
      'Running once the names are free',
      40_000,
    );
    for (const claim of claims) {
      expect((await claim.read()).metadata?.ownerReferences).toEqual([
        expect.objectContaining({ kind: 'Sandbox', uid: running.metadata.uid, controller: true }),
      ]);
    }
  }, 60_000);

  it('an object whose owner reference names an earlier Sandbox of the same name is left to the garbage collector: the controller never deletes it (anyone can write such a reference)', async () => {
    const earlier = {
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'Sandbox',
      name: SANDBOX,
      uid: '00000000-0000-4000-8000-000000000001',
    };
    // The fake's garbage collector would take it at once; paused, what the controller does shows.
    h.fake.faults.pauseControllers();
    await h.core.createNamespacedSecret({
      namespace: NS,
      body: {
        metadata: { name: `${SANDBOX}-sandboxd-token`, namespace: NS, ownerReferences: [earlier] },
        stringData: { 'db-password': 'hunter2' },
      },
    });
    await h.createSandbox(SANDBOX);
    await eventually(
      async () =>
        (await h.getSandbox(SANDBOX))?.status?.message?.includes('waiting for Kubernetes to collect it'),
      'the wait for the garbage collector',
    );
    await h.controller.idle();
    const deletes = h.fake.requests.filter((r) => r.resource === 'secrets' && r.verb === 'delete');
    expect(deletes).toEqual([]);
    // Collected, the name is free and the sandbox starts with its own Secret.
    h.fake.faults.resumeControllers();
    h.autoKubelet(true);
    await eventually(
      async () => (await h.getSandbox(SANDBOX))?.status?.phase === 'Running',
      'Running',
      40_000,
    );
  }, 60_000);

  it("the orphan sweep deletes no Pod or claim that merely carries AgentTier's labels with a gone sandbox's uid", async () => {
    const labels = {
      'agenttier.io/managed': 'true',
      'agenttier.io/sandbox': 'ghost',
      'agenttier.io/sandbox-uid': '00000000-0000-4000-8000-000000000002',
    };
    await h.core.createNamespacedPod({
      namespace: NS,
      body: {
        metadata: { name: 'debug-copy', namespace: NS, labels },
        spec: { containers: [{ name: 'app', image: 'billing/app:1' }] },
      },
    });
    await h.core.createNamespacedPersistentVolumeClaim({
      namespace: NS,
      body: {
        metadata: { name: 'billing-data', namespace: NS, labels },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    const before = await Promise.all([
      h.core.readNamespacedPod({ namespace: NS, name: 'debug-copy' }),
      h.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'billing-data' }),
    ]);
    expect(await h.controller.collectOrphans()).toBe(0);
    const after = await Promise.all([
      h.core.readNamespacedPod({ namespace: NS, name: 'debug-copy' }),
      h.core.readNamespacedPersistentVolumeClaim({ namespace: NS, name: 'billing-data' }),
    ]);
    for (const [i, o] of after.entries()) {
      expect(o.metadata?.uid).toBe(before[i]!.metadata?.uid);
      expect(o.metadata?.deletionTimestamp).toBeUndefined();
    }
    expect(h.fake.requests.filter((r) => r.verb === 'delete')).toEqual([]);
  });

  it("the allowed-domains refresher rewrites no NetworkPolicy but a sandbox's own, whatever annotation and Sandbox reference it carries", async () => {
    h.fake.faults.pauseControllers(); // the owner is not there: the collector would take it
    await h.net.createNamespacedNetworkPolicy({
      namespace: NS,
      body: {
        metadata: {
          name: 'billing-egress',
          namespace: NS,
          labels: { ...FOREIGN_LABELS, 'agenttier.io/managed': 'true' },
          annotations: { 'agenttier.io/allowed-domains': 'api.example.com' },
          ownerReferences: [
            { apiVersion: 'agenttier.io/v1', kind: 'Sandbox', name: 'billing', uid: 'u-1', controller: true },
          ],
        },
        spec: {
          podSelector: { matchLabels: FOREIGN_LABELS },
          policyTypes: ['Egress'],
          egress: [{ to: [{ ipBlock: { cidr: '192.0.2.1/32' } }] }],
        },
      },
    });
    const before = await h.net.readNamespacedNetworkPolicy({ namespace: NS, name: 'billing-egress' });
    const refresher = new DomainRefresher({
      kubeConfig: h.fake.kubeConfig,
      resolver: async () => ['203.0.113.99'],
    });
    expect(await refresher.refreshOnce()).toBe(0);
    const after = await h.net.readNamespacedNetworkPolicy({ namespace: NS, name: 'billing-egress' });
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    h.fake.faults.resumeControllers();
  });
});
