import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { SANDBOX_FINALIZER } from '@agenttier/contract';
import type { OperatorHarness } from '../testing/operator-harness.ts';
import { eventually, startOperatorHarness } from '../testing/operator-harness.ts';
import { tokenDigest } from './children.ts';
import { DomainRefresher } from './domain-refresher.ts';

const phaseOf = async (h: OperatorHarness, name: string, phase: string) => {
  const sb = await h.getSandbox(name);
  return sb?.status?.phase === phase ? sb : undefined;
};

async function notFound(p: Promise<unknown>): Promise<boolean> {
  try {
    await p;
    return false;
  } catch (err) {
    return (err as { code?: number }).code === 404;
  }
}

describe('operator on the fake API server: sandbox lifecycle', () => {
  let h: OperatorHarness;
  beforeEach(async () => {
    h = await startOperatorHarness();
  });
  afterEach(async () => {
    await h.close();
  });

  it('creates a locked-down Pod, PVC, NetworkPolicy, ServiceAccount and token Secret owned by the Sandbox, then goes Running when the pod is Ready', async () => {
    const sb = await h.createSandbox('alpha');
    const pod = await eventually(() => h.pod('alpha'), 'the pod');
    const uid = sb.metadata.uid!;
    const owner = (o: {
      metadata?: { ownerReferences?: Array<{ uid: string; kind: string; controller?: boolean }> };
    }) => o.metadata?.ownerReferences?.find((r) => r.uid === uid && r.kind === 'Sandbox' && r.controller);
    const ns = 'default';
    const pvc = await h.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'alpha-workspace' });
    const netpol = await h.net.readNamespacedNetworkPolicy({ namespace: ns, name: 'alpha-netpol' });
    const sa = await h.core.readNamespacedServiceAccount({ namespace: ns, name: 'alpha-sa' });
    const secret = await h.core.readNamespacedSecret({ namespace: ns, name: 'alpha-sandboxd-token' });
    for (const o of [pod, pvc, netpol, sa, secret]) expect(owner(o), o.metadata?.name).toBeTruthy();

    expect(pvc.spec?.accessModes).toEqual(['ReadWriteOnce']);
    expect(pvc.spec?.resources?.requests?.storage).toBe('5Gi');
    expect(sa.automountServiceAccountToken).toBe(false);
    // This start's token: random, and the pod names only its digest.
    const token = Buffer.from(secret.data!.token!, 'base64').toString();
    expect(token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(pod.metadata?.annotations?.['agenttier.io/sandboxd-token-sha256']).toBe(tokenDigest(token));

    const spec = pod.spec!;
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.serviceAccountName).toBe('alpha-sa');
    expect(spec.securityContext).toMatchObject({
      runAsUser: 1000,
      fsGroup: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    // Pod Security baseline by default: the first step is root with four capabilities, and
    // agenttier-launch drops to uid 1000 before sandboxd runs (pod-builder.test.ts has the details).
    const main = spec.containers.find((c) => c.name === 'sandbox')!;
    expect(main.securityContext).toMatchObject({
      runAsUser: 0,
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
      capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'SETPCAP', 'KILL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(main.command).toEqual(expect.arrayContaining(['--listen-tcp', '[::]:7070']));
    expect(main.ports?.[0]?.containerPort).toBe(7070);
    expect(spec.volumes?.find((v) => v.name === 'tmp')?.emptyDir?.medium).toBe('Memory');
    expect(spec.volumes?.find((v) => v.name === 'workspace')?.persistentVolumeClaim?.claimName).toBe(
      'alpha-workspace',
    );
    expect(spec.initContainers?.[0]?.image).toBe('agenttier/sandboxd-injector:test');
    expect(netpol.spec?.policyTypes).toEqual(['Ingress', 'Egress']);

    expect((await h.getSandbox('alpha'))?.status?.phase).toBe('Creating');
    h.fake.kubelet.markRunning(ns, 'alpha-pod');
    const running = await eventually(() => phaseOf(h, 'alpha', 'Running'), 'phase Running');
    expect(running.metadata.finalizers).toContain(SANDBOX_FINALIZER);
    expect(running.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    // The status names the Pod and the claim (kubectl get sb -o wide, the REST view).
    expect(running.status).toMatchObject({ podName: 'alpha-pod', pvcName: 'alpha-workspace' });
  });

  it('stop deletes the pod and keeps the claim; resume re-attaches the same claim', async () => {
    h.autoKubelet(true);
    await h.createSandbox('beta');
    await eventually(() => phaseOf(h, 'beta', 'Running'), 'Running');
    const pvcBefore = await h.core.readNamespacedPersistentVolumeClaim({
      namespace: 'default',
      name: 'beta-workspace',
    });
    const podBefore = await h.pod('beta');

    let sb = (await h.getSandbox('beta'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
    await eventually(() => phaseOf(h, 'beta', 'Stopped'), 'Stopped');
    expect(await h.pod('beta')).toBeUndefined();
    const pvcStopped = await h.core.readNamespacedPersistentVolumeClaim({
      namespace: 'default',
      name: 'beta-workspace',
    });
    expect(pvcStopped.metadata?.uid).toBe(pvcBefore.metadata?.uid);

    sb = (await h.getSandbox('beta'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Running' } });
    await eventually(() => phaseOf(h, 'beta', 'Running'), 'Running again');
    const podAfter = (await h.pod('beta'))!;
    expect(podAfter.metadata?.uid).not.toBe(podBefore?.metadata?.uid);
    expect(
      podAfter.spec?.volumes?.find((v) => v.name === 'workspace')?.persistentVolumeClaim?.claimName,
    ).toBe('beta-workspace');
    const pvcAfter = await h.core.readNamespacedPersistentVolumeClaim({
      namespace: 'default',
      name: 'beta-workspace',
    });
    expect(pvcAfter.metadata?.uid).toBe(pvcBefore.metadata?.uid);
  });

  it('every pod start gets a fresh token of its own: per sandbox and per start, never derived from anything shared', async () => {
    h.autoKubelet(true);
    const tokenOf = async (name: string) => {
      const s = await h.core.readNamespacedSecret({ namespace: 'default', name: `${name}-sandboxd-token` });
      return Buffer.from(s.data!.token!, 'base64').toString();
    };
    await h.createSandbox('tok-a');
    await h.createSandbox('tok-b');
    await eventually(() => phaseOf(h, 'tok-a', 'Running'), 'a Running');
    await eventually(() => phaseOf(h, 'tok-b', 'Running'), 'b Running');
    const first = await tokenOf('tok-a');
    expect(first).not.toBe(await tokenOf('tok-b'));
    expect((await h.pod('tok-a'))?.metadata?.annotations?.['agenttier.io/sandboxd-token-sha256']).toBe(
      tokenDigest(first),
    );

    let sb = (await h.getSandbox('tok-a'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
    await eventually(() => phaseOf(h, 'tok-a', 'Stopped'), 'Stopped');
    sb = (await h.getSandbox('tok-a'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Running' } });
    await eventually(() => phaseOf(h, 'tok-a', 'Running'), 'Running again');
    const second = await tokenOf('tok-a');
    expect(second).not.toBe(first);
    expect((await h.pod('tok-a'))?.metadata?.annotations?.['agenttier.io/sandboxd-token-sha256']).toBe(
      tokenDigest(second),
    );
  });

  it('delete removes the finalizer and every child goes with the Sandbox', async () => {
    h.autoKubelet(true);
    await h.createSandbox('gamma');
    await eventually(() => phaseOf(h, 'gamma', 'Running'), 'Running');
    await h.store.delete('Sandbox', { namespace: 'default', name: 'gamma' });
    await eventually(async () => !(await h.getSandbox('gamma')), 'the Sandbox to go');
    const ns = 'default';
    await eventually(
      async () =>
        (await notFound(h.core.readNamespacedPod({ namespace: ns, name: 'gamma-pod' }))) &&
        (await notFound(
          h.core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'gamma-workspace' }),
        )) &&
        (await notFound(h.net.readNamespacedNetworkPolicy({ namespace: ns, name: 'gamma-netpol' }))) &&
        (await notFound(h.core.readNamespacedServiceAccount({ namespace: ns, name: 'gamma-sa' }))) &&
        (await notFound(h.core.readNamespacedSecret({ namespace: ns, name: 'gamma-sandboxd-token' }))),
      'every child to be garbage-collected',
    );
  });

  it('a pod deleted by hand comes back, counted as a restart', async () => {
    h.autoKubelet(true);
    await h.createSandbox('delta');
    await eventually(() => phaseOf(h, 'delta', 'Running'), 'Running');
    const before = (await h.pod('delta'))!;
    await h.core.deleteNamespacedPod({ namespace: 'default', name: 'delta-pod' });
    const again = await eventually(async () => {
      const p = await h.pod('delta');
      return p && p.metadata?.uid !== before.metadata?.uid ? p : undefined;
    }, 'a new pod');
    expect(again.spec?.volumes?.find((v) => v.name === 'workspace')?.persistentVolumeClaim?.claimName).toBe(
      'delta-workspace',
    );
    // The new pod appears before the status recording the restart is written: wait for both.
    const sb = await eventually(async () => {
      const s = await phaseOf(h, 'delta', 'Running');
      return s?.status?.restartCount === 1 ? s : undefined;
    }, 'Running again after one restart');
    expect(sb.status?.reason).toBe('Ready');
  });

  it('a crashed pod is restarted within the budget, then the sandbox goes to Error', async () => {
    h.autoKubelet(false);
    await h.createSandbox('eps');
    await eventually(() => h.pod('eps'), 'the pod');
    h.fake.kubelet.markRunning('default', 'eps-pod');
    await eventually(() => phaseOf(h, 'eps', 'Running'), 'Running');
    for (let i = 1; i <= 6; i++) {
      const pod = await eventually(async () => {
        const p = await h.pod('eps');
        return p && !p.status?.phase?.match(/Failed/) ? p : undefined;
      }, `pod incarnation ${i}`);
      if (i > 1) {
        const sb = await eventually(() => phaseOf(h, 'eps', 'Creating'), 'Creating');
        expect(sb.status?.restartCount).toBe(i - 1);
      }
      h.fake.kubelet.markRunning('default', pod.metadata!.name!);
      await eventually(() => phaseOf(h, 'eps', 'Running'), `Running ${i}`);
      h.fake.kubelet.markFailed('default', pod.metadata!.name!, { reason: 'OOMKilled', exitCode: 137 });
      if (i === 6) break;
      await eventually(async () => (await h.pod('eps'))?.metadata?.uid !== pod.metadata?.uid, `restart ${i}`);
    }
    const failed = await eventually(() => phaseOf(h, 'eps', 'Error'), 'Error');
    expect(failed.status?.reason).toBe('RestartLimitExceeded');
    expect(failed.status?.message).toContain('exit code 137');
  });

  it('a failed init container costs one restart per pod: each failing pod is replaced, then Error', async () => {
    // What a real kubelet shows for a while after an init container fails under restartPolicy Never:
    // the pod still Pending, the init container terminated with a non-zero exit code.
    h.autoKubelet(false);
    await h.createSandbox('init-fail');
    const seen = new Set<string>();
    const failInit = async (name: string) => {
      const pod = await h.core.readNamespacedPod({ namespace: 'default', name });
      await h.core.replaceNamespacedPodStatus({
        namespace: 'default',
        name,
        body: {
          ...pod,
          status: {
            ...pod.status,
            phase: 'Pending',
            initContainerStatuses: [
              {
                name: 'sandboxd-inject',
                image: 'agenttier/sandboxd-injector:test',
                imageID: '',
                ready: false,
                restartCount: 0,
                state: {
                  terminated: { exitCode: 1, reason: 'Error', message: 'cp: Operation not permitted' },
                },
              },
            ],
          },
        },
      });
    };
    const failed = await eventually(
      async () => {
        const sb = await h.getSandbox('init-fail');
        if (sb?.status?.phase === 'Error') return sb;
        const pod = await h.pod('init-fail');
        const uid = pod?.metadata?.uid;
        if (pod && uid && !pod.metadata?.deletionTimestamp && !seen.has(uid)) {
          seen.add(uid);
          // The budget grows by one per failed pod, never faster.
          expect(sb?.status?.restartCount ?? 0).toBeLessThanOrEqual(seen.size - 1);
          await failInit(pod.metadata!.name!);
        }
        return undefined;
      },
      'Error after the restart budget',
      30_000,
    );
    expect(failed.status?.reason).toBe('RestartLimitExceeded');
    expect(failed.status?.message).toContain('init container sandboxd-inject failed');
    // One pod per attempt: the first plus one per restart in the budget.
    expect(seen.size).toBeGreaterThanOrEqual(5);
  });

  it('never mounts a claim that belongs to another sandbox, and backs off instead of spinning', async () => {
    // Owned by a live Sandbox (a dangling owner would be garbage-collected, as on a real server).
    const other = await h.createSandbox('other');
    await h.core.createNamespacedPersistentVolumeClaim({
      namespace: 'default',
      body: {
        metadata: {
          name: 'squat-workspace',
          ownerReferences: [
            { apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', name: 'other', uid: other.metadata.uid! },
          ],
        },
        spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
      },
    });
    await h.createSandbox('squat');
    const failing = await eventually(async () => {
      const sb = await h.getSandbox('squat');
      return (sb?.status?.failureCount ?? 0) >= 1 ? sb : undefined;
    }, 'a counted failure');
    expect(failing.status?.message).toMatch(/does not belong to sandbox "squat"/);
    expect(failing.status?.nextRetryAt).toBeDefined();
    expect(await h.pod('squat')).toBeUndefined();
    await h.controller.idle();
    // Backing off: the retry waits for nextRetryAt, so the count stays put right after the failure.
    expect((await h.getSandbox('squat'))?.status?.failureCount).toBe(failing.status?.failureCount);
    expect(await h.pod('squat')).toBeUndefined();
  });

  it('a template change does not disturb running sandboxes; the next start picks it up', async () => {
    h.autoKubelet(true);
    await h.createSandbox('zeta');
    await eventually(() => phaseOf(h, 'zeta', 'Running'), 'Running');
    const before = (await h.pod('zeta'))!;
    const tmpl = (await h.store.get<SandboxTemplate>('ClusterSandboxTemplate', {
      name: 'minimal-shell',
    }))!;
    await h.store.update({
      ...tmpl,
      spec: {
        ...tmpl.spec,
        image: { repository: 'agenttier/minimal-shell:v2' },
        network: { allowInternet: true },
      },
    });
    h.controller.enqueue('default', 'zeta');
    await h.controller.idle();
    const still = (await h.pod('zeta'))!;
    expect(still.metadata?.uid).toBe(before.metadata?.uid);
    expect(still.spec?.containers[0]?.image).toBe('agenttier/minimal-shell:dev');
    expect((await h.getSandbox('zeta'))?.status?.phase).toBe('Running');

    let sb = (await h.getSandbox('zeta'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Stopped' } });
    await eventually(() => phaseOf(h, 'zeta', 'Stopped'), 'Stopped');
    sb = (await h.getSandbox('zeta'))!;
    await h.store.update<Sandbox>({ ...sb, spec: { ...sb.spec, desiredState: 'Running' } });
    await eventually(() => phaseOf(h, 'zeta', 'Running'), 'Running again');
    expect((await h.pod('zeta'))?.spec?.containers[0]?.image).toBe('agenttier/minimal-shell:v2');
    const netpol = await h.net.readNamespacedNetworkPolicy({ namespace: 'default', name: 'zeta-netpol' });
    expect(netpol.spec?.egress?.some((r) => r.to?.some((p) => p.ipBlock?.cidr === '0.0.0.0/0'))).toBe(true);
  });

  it("applies the template's init scripts (parent first) and the storage access mode, the sandbox's winning", async () => {
    await h.store.create({
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'ClusterSandboxTemplate',
      metadata: { name: 'shared-base' },
      spec: { initScripts: ['echo base'], storage: { size: '1Gi', accessMode: 'ReadWriteMany' } },
    });
    await h.store.create({
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'ClusterSandboxTemplate',
      metadata: { name: 'shared' },
      spec: {
        inheritsFrom: { name: 'shared-base', kind: 'ClusterSandboxTemplate' },
        initScripts: ['echo leaf'],
      },
    });
    const ref = { name: 'shared', kind: 'ClusterSandboxTemplate' as const };
    await h.createSandbox('theta', { templateRef: ref });
    await h.createSandbox('iota', { templateRef: ref, storage: { accessMode: 'ReadWriteOncePod' } });
    const pod = await eventually(() => h.pod('theta'), 'the pod');
    const init = pod.spec?.initContainers?.find((c) => c.name === 'init-scripts');
    expect(init?.command).toEqual(['/bin/sh', '-c', 'set -e\necho base\necho leaf']);
    const claim = (name: string) =>
      h.core.readNamespacedPersistentVolumeClaim({ namespace: 'default', name: `${name}-workspace` });
    expect((await claim('theta')).spec?.accessModes).toEqual(['ReadWriteMany']);
    await eventually(() => h.pod('iota'), 'the second pod');
    expect((await claim('iota')).spec?.accessModes).toEqual(['ReadWriteOncePod']);
  });

  it('resolves allowed domains into the NetworkPolicy and sets the runtime class from the template', async () => {
    await h.store.create({
      apiVersion: 'agenttier.io/v1alpha1',
      kind: 'ClusterSandboxTemplate',
      metadata: { name: 'locked' },
      spec: {
        runtimeClass: 'gvisor',
        network: { allowedDomains: ['api.example.com'] },
        storage: { size: '1Gi', storageClass: 'fast' },
      },
    });
    await h.createSandbox('eta', { templateRef: { name: 'locked', kind: 'ClusterSandboxTemplate' } });
    const pod = await eventually(() => h.pod('eta'), 'the pod');
    expect(pod.spec?.runtimeClassName).toBe('gvisor');
    const pvc = await h.core.readNamespacedPersistentVolumeClaim({
      namespace: 'default',
      name: 'eta-workspace',
    });
    expect(pvc.spec?.storageClassName).toBe('fast');
    const netpol = await h.net.readNamespacedNetworkPolicy({ namespace: 'default', name: 'eta-netpol' });
    const cidrs = netpol
      .spec!.egress!.flatMap((r) => r.to ?? [])
      .flatMap((p) => (p.ipBlock ? [p.ipBlock.cidr] : []));
    expect(cidrs).toEqual(['2001:db8::10/128', '203.0.113.10/32']);
    expect(netpol.metadata?.annotations?.['agenttier.io/allowed-domains']).toBe('api.example.com');

    // DNS moves on: the refresher rewrites the ipBlocks (and only when the answer changed).
    let answer = ['203.0.113.99'];
    const refresher = new DomainRefresher({ kubeConfig: h.fake.kubeConfig, resolver: async () => answer });
    expect(await refresher.refreshOnce()).toBe(1);
    expect(await refresher.refreshOnce()).toBe(0);
    const refreshed = await h.net.readNamespacedNetworkPolicy({ namespace: 'default', name: 'eta-netpol' });
    expect(
      refreshed.spec!.egress!.flatMap((r) => r.to ?? []).flatMap((p) => (p.ipBlock ? [p.ipBlock.cidr] : [])),
    ).toEqual(['203.0.113.99/32']);
    expect(refreshed.spec!.egress![0]!.ports?.map((p) => p.port)).toEqual([53, 53]);
    answer = [];
    expect(await refresher.refreshOnce()).toBe(0); // an empty answer never cuts the sandbox off
  });
});

describe('operator on the fake API server: restricted sandbox pods (opt-in)', () => {
  it('starts every container as uid 1000 with the token Secret mounted, and still goes Running', async () => {
    const h = await startOperatorHarness({ podSecurity: 'restricted' });
    h.autoKubelet(true);
    try {
      await h.createSandbox('rho');
      const pod = await eventually(() => h.pod('rho'), 'the pod');
      const main = pod.spec!.containers[0]!;
      expect(main.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 1000 });
      expect(main.command).not.toContain('--listen-tcp');
      expect(pod.spec!.volumes!.find((v) => v.name === 'sandboxd-token')?.secret?.secretName).toBe(
        'rho-sandboxd-token',
      );
      await eventually(() => phaseOf(h, 'rho', 'Running'), 'Running');
    } finally {
      await h.close();
    }
  });
});
