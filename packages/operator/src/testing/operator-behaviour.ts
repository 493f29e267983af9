// The operator's behavioural suite: `agenttier controller` (startController, in-process) on a
// cluster, driven and observed only through the Kubernetes API, as a user with kubectl would. It
// runs unchanged against the fake API server (operator-behaviour.test.ts) and against a real cluster
// (operator-behaviour.real.int.test.ts). Assertions are on the resulting objects and status; waits
// poll observable state up to the cluster's deadline and never measure time.
import { randomBytes } from 'node:crypto';
import type { KubernetesObject, V1OwnerReference, V1Pod } from '@kubernetes/client-node';
import {
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_GROUP, API_VERSION, SANDBOX_FINALIZER } from '@agenttier/contract';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { silentLogger } from '@agenttier/core';
import { startController } from '../controller/start-controller.ts';
import { kubeSandboxEvents } from '../router/sandbox-events-feed.ts';
import type { OperatorCluster } from './operator-cluster.ts';

export interface BehaviourOpts {
  /** Per test (each waits for several states in turn). */
  testTimeoutMs: number;
  /** beforeAll / afterAll (CRD install, namespace deletion). */
  hookTimeoutMs: number;
}

const VERSION = 'v1alpha1';
const TEMPLATE = 'e2e-shell';

function codeOf(err: unknown): number | undefined {
  return (err as { code?: number }).code;
}

async function orUndefined<T>(p: Promise<T>): Promise<T | undefined> {
  try {
    return await p;
  } catch (err) {
    if (codeOf(err) === 404) return undefined;
    throw err;
  }
}

async function gone(p: Promise<unknown>): Promise<boolean> {
  return (await orUndefined(p)) === undefined;
}

/** The controller owner reference to the given Sandbox, if the object has one. */
function ownerRef(o: KubernetesObject, sandbox: Sandbox): V1OwnerReference | undefined {
  return o.metadata?.ownerReferences?.find(
    (r) => r.uid === sandbox.metadata.uid && r.kind === 'Sandbox' && r.controller === true,
  );
}

/**
 * Registers the suite. `getCluster` is called once, in beforeAll; the suite creates a namespace of
 * its own (deleted in afterAll, also after a failure), starts the controller there as install
 * namespace, and stops it again.
 */
export function runOperatorBehaviour(getCluster: () => Promise<OperatorCluster>, opts: BehaviourOpts): void {
  describe('operator behaviour (controller in-process, a namespace of its own)', () => {
    const ns = `agenttier-e2e-${randomBytes(4).toString('hex')}`;
    let cluster: OperatorCluster | undefined;
    let proc: ControllerProcess | undefined;
    let stopPods: (() => void) | undefined;
    let nsCreated = false;

    const c = () => {
      if (!cluster) throw new Error('the cluster did not start (see beforeAll)');
      return cluster;
    };
    const api = () => ({
      core: c().kubeConfig.makeApiClient(CoreV1Api),
      net: c().kubeConfig.makeApiClient(NetworkingV1Api),
      custom: c().kubeConfig.makeApiClient(CustomObjectsApi),
    });
    const ids = (plural: string) => ({ group: API_GROUP, version: VERSION, namespace: ns, plural });
    const named = (plural: string, name: string) => ({ ...ids(plural), name });
    const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

    /** Polls until `fn` returns a value (at the cluster's pace); on timeout says what was last seen. */
    const waitFor = <T>(
      what: string,
      fn: () => Promise<T | undefined | false>,
      lastSeen?: () => Promise<string>,
    ): Promise<T> =>
      eventually(fn, what, {
        timeoutMs: c().waitMs,
        intervalMs: c().pollMs,
        ...(lastSeen ? { lastSeen } : {}),
        isFatal: (err) => (err as { fatal?: boolean }).fatal === true,
      });

    const getSandbox = (name: string) =>
      orUndefined(api().custom.getNamespacedCustomObject(named('sandboxes', name)) as Promise<Sandbox>);
    const getPod = (name: string) =>
      orUndefined(api().core.readNamespacedPod({ namespace: ns, name: `${name}-pod` }));
    const getClaim = (name: string) =>
      api().core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: `${name}-workspace` });
    const describeSandbox = async (name: string) => {
      const sb = await getSandbox(name);
      const pod = await getPod(name);
      const waiting = [
        ...(pod?.status?.initContainerStatuses ?? []),
        ...(pod?.status?.containerStatuses ?? []),
      ]
        .map((s) => (s.state?.waiting ? `${s.name}: ${s.state.waiting.reason}` : undefined))
        .filter(Boolean);
      return JSON.stringify({
        status: sb?.status ?? null,
        pod: pod ? { phase: pod.status?.phase, deleting: !!pod.metadata?.deletionTimestamp, waiting } : null,
      });
    };

    /** Waits for a phase; an unexpected Error ends the wait at once with the sandbox's message. */
    const waitPhase = (name: string, phase: string, extra: (sb: Sandbox) => boolean = () => true) =>
      waitFor(
        `sandbox ${ns}/${name} to be ${phase}`,
        async () => {
          const sb = await getSandbox(name);
          const p = sb?.status?.phase;
          if (p === 'Error' && phase !== 'Error') {
            throw Object.assign(
              new Error(`sandbox ${ns}/${name} went to Error: ${sb?.status?.message ?? '?'}`),
              { fatal: true },
            );
          }
          return p === phase && extra(sb!) ? sb : undefined;
        },
        () => describeSandbox(name),
      );

    const createTemplate = (name: string, spec: Partial<SandboxTemplate['spec']> = {}) =>
      api().custom.createNamespacedCustomObject({
        ...ids('sandboxtemplates'),
        body: {
          apiVersion: API_VERSION,
          kind: 'SandboxTemplate',
          metadata: { name, namespace: ns },
          spec: {
            mode: 'code',
            image: { repository: c().image, pullPolicy: c().pullPolicy },
            // Small enough that every sandbox of the suite fits a 2-CPU node at once (kind on a laptop).
            resources: { limits: { cpu: '100m', memory: '256Mi' } },
            storage: {
              size: '1Gi',
              mountPath: '/workspace',
              ...(c().storageClass ? { storageClass: c().storageClass } : {}),
            },
            harness: { shell: '/bin/bash', workingDir: '/workspace' },
            ...spec,
          },
        },
      });

    const createSandbox = async (name: string, template = TEMPLATE): Promise<Sandbox> =>
      (await api().custom.createNamespacedCustomObject({
        ...ids('sandboxes'),
        body: {
          apiVersion: API_VERSION,
          kind: 'Sandbox',
          metadata: { name, namespace: ns },
          spec: { templateRef: { name: template, kind: 'SandboxTemplate' } },
        },
      })) as Sandbox;

    /** What `kubectl patch sb <name> --type merge -p '{"spec":{"desiredState":…}}'` does. */
    const setDesiredState = (name: string, desiredState: 'Running' | 'Stopped') =>
      api().custom.patchNamespacedCustomObject(
        { ...named('sandboxes', name), body: { spec: { desiredState } } },
        mergePatch,
      );

    const newPodAfter = (name: string, before: V1Pod | undefined) =>
      waitFor(
        `a new pod for ${ns}/${name}`,
        async () => {
          const p = await getPod(name);
          return p && p.metadata?.uid !== before?.metadata?.uid && !p.metadata?.deletionTimestamp
            ? p
            : undefined;
        },
        () => describeSandbox(name),
      );

    const workspaceClaimOf = (pod: V1Pod) =>
      pod.spec?.volumes?.find((v) => v.name === 'workspace')?.persistentVolumeClaim?.claimName;

    beforeAll(async () => {
      cluster = await getCluster();
      const { core } = api();
      await core.createNamespace({
        body: { metadata: { name: ns, labels: { 'agenttier.io/e2e': 'true' } } },
      });
      nsCreated = true;
      await createTemplate(TEMPLATE);
      const level = process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'silent';
      proc = await startController({
        kubeConfig: cluster.kubeConfig,
        namespace: ns,
        identity: `e2e-${ns}`,
        leaderElection: false,
        healthPort: 0,
        metricsPort: 0,
        host: '127.0.0.1',
        injectorImage: cluster.injectorImage,
        logger: pino({ level }, pino.destination(2)),
      });
      await waitFor('the controller caches to sync', async () => proc!.store.hasSynced);
      stopPods = cluster.runPods(ns);
    }, opts.hookTimeoutMs);

    afterAll(async () => {
      const problems: string[] = [];
      const step = async (what: string, fn: () => Promise<unknown>) => {
        try {
          await fn();
        } catch (err) {
          problems.push(`${what}: ${String(err)}`);
        }
      };
      stopPods?.();
      const keep = cluster?.keepNamespace ?? false;
      if (cluster && nsCreated && !keep) {
        const { custom } = api();
        // With the controller still running, so that it releases the finalizers.
        await step('deleting the sandboxes', async () => {
          await custom.deleteCollectionNamespacedCustomObject(ids('sandboxes'));
          await waitFor('the sandboxes to go', async () => {
            const list = (await custom.listNamespacedCustomObject(ids('sandboxes'))) as { items: unknown[] };
            return list.items.length === 0;
          });
        });
      }
      if (proc) await step('stopping the controller', () => proc!.close());
      if (cluster && nsCreated && !keep) {
        const { core, custom } = api();
        await step('releasing leftover finalizers', async () => {
          const list = (await custom.listNamespacedCustomObject(ids('sandboxes'))) as { items: Sandbox[] };
          for (const sb of list.items) {
            await custom.patchNamespacedCustomObject(
              { ...named('sandboxes', sb.metadata.name), body: { metadata: { finalizers: null } } },
              mergePatch,
            );
          }
        });
        await step('deleting the namespace', () => core.deleteNamespace({ name: ns }));
      } else if (keep) {
        console.info(`[operator behaviour] kept namespace ${ns} (AGENTTIER_E2E_KEEP=1)`);
      }
      if (cluster) await step('closing the cluster', () => cluster!.close());
      if (problems.length) throw new Error(`cleanup of ${ns} failed: ${problems.join('; ')}`);
    }, opts.hookTimeoutMs);

    it(
      'Creating → Running: a Pod, claim, NetworkPolicy, ServiceAccount and token Secret owned by the Sandbox',
      async () => {
        const sb = await createSandbox('alpha');
        const running = await waitPhase('alpha', 'Running');
        expect(running.metadata.finalizers).toContain(SANDBOX_FINALIZER);
        expect(running.status?.conditions?.find((x) => x.type === 'Ready')?.status).toBe('True');
        expect(running.status).toMatchObject({ podName: 'alpha-pod', pvcName: 'alpha-workspace' });

        const { core, net } = api();
        const pod = (await getPod('alpha'))!;
        const children: KubernetesObject[] = [
          pod,
          await getClaim('alpha'),
          await net.readNamespacedNetworkPolicy({ namespace: ns, name: 'alpha-netpol' }),
          await core.readNamespacedServiceAccount({ namespace: ns, name: 'alpha-sa' }),
          await core.readNamespacedSecret({ namespace: ns, name: 'alpha-sandboxd-token' }),
        ];
        for (const o of children) {
          expect(ownerRef(o, sb), `${o.kind ?? ''} ${o.metadata?.name}`).toBeTruthy();
          expect(o.metadata?.labels?.['agenttier.io/managed']).toBe('true');
        }
        expect(pod.status?.phase).toBe('Running');
        expect(pod.spec?.containers.find((x) => x.name === 'sandbox')?.image).toBe(c().image);
        expect(pod.spec?.initContainers?.[0]?.image).toBe(c().injectorImage);
        expect(workspaceClaimOf(pod)).toBe('alpha-workspace');

        // The phase changes, as Events on the Sandbox (kubectl describe sb alpha).
        await proc!.events.flush();
        const reasons = await waitFor('the Creating and Running events', async () => {
          const events = await core.listNamespacedEvent({ namespace: ns });
          const r = events.items
            .filter((e) => e.involvedObject.kind === 'Sandbox' && e.involvedObject.name === 'alpha')
            .map((e) => e.reason);
          return r.includes('Creating') && r.includes('Running') ? r : undefined;
        });
        expect(reasons).toEqual(expect.arrayContaining(['Creating', 'Running']));

        // The events feed the router answers (GET …/events): this Sandbox's Events, oldest first.
        const feed = await kubeSandboxEvents(c().kubeConfig, silentLogger).list(running);
        const order = feed.map((e) => e.reason);
        expect(order.indexOf('Provisioned')).toBeGreaterThanOrEqual(0);
        expect(order.indexOf('Provisioned')).toBeLessThan(order.indexOf('Created'));
        expect(order.indexOf('Created')).toBeLessThan(order.lastIndexOf('Running'));
        expect(feed.every((e) => e.source === 'agenttier-controller')).toBe(true);
      },
      opts.testTimeoutMs,
    );

    it(
      'stop deletes the Pod and keeps the claim; resume re-attaches the same claim',
      async () => {
        await createSandbox('beta');
        await waitPhase('beta', 'Running');
        const claimBefore = await getClaim('beta');
        const podBefore = await getPod('beta');

        await setDesiredState('beta', 'Stopped');
        await waitPhase('beta', 'Stopped');
        await waitFor('the pod to be deleted', async () => !(await getPod('beta')));
        const claimStopped = await getClaim('beta');
        expect(claimStopped.metadata?.uid).toBe(claimBefore.metadata?.uid);
        expect(claimStopped.metadata?.deletionTimestamp).toBeUndefined();

        await setDesiredState('beta', 'Running');
        await waitPhase('beta', 'Running');
        const podAfter = await newPodAfter('beta', podBefore);
        expect(workspaceClaimOf(podAfter)).toBe('beta-workspace');
        const claimAfter = await getClaim('beta');
        expect(claimAfter.metadata?.uid).toBe(claimBefore.metadata?.uid);
        expect(claimAfter.metadata?.deletionTimestamp).toBeUndefined();
      },
      opts.testTimeoutMs,
    );

    it(
      'a Pod deleted by hand comes back on the same claim, counted as one restart',
      async () => {
        await createSandbox('delta');
        await waitPhase('delta', 'Running');
        const before = (await getPod('delta'))!;
        const claim = await getClaim('delta');
        await api().core.deleteNamespacedPod({ namespace: ns, name: 'delta-pod' });
        const again = await newPodAfter('delta', before);
        expect(workspaceClaimOf(again)).toBe('delta-workspace');
        const sb = await waitPhase('delta', 'Running', (s) => s.status?.restartCount === 1);
        expect(sb.status?.reason).toBe('Ready');
        expect((await getClaim('delta')).metadata?.uid).toBe(claim.metadata?.uid);
      },
      opts.testTimeoutMs,
    );

    it(
      'a template change does not disturb a running sandbox; the next start picks it up',
      async () => {
        await createTemplate('e2e-changing');
        await createSandbox('zeta', 'e2e-changing');
        await waitPhase('zeta', 'Running');
        const before = (await getPod('zeta'))!;
        const revision = { name: 'AGENTTIER_E2E_REVISION', value: '2' };
        await api().custom.patchNamespacedCustomObject(
          {
            ...named('sandboxtemplates', 'e2e-changing'),
            body: { spec: { env: [revision], network: { allowInternet: true } } },
          },
          mergePatch,
        );
        // A reconcile that has seen the new template (the controller runs in this process).
        await waitFor('the controller to see the new template', async () => {
          const t = await proc!.store.get<SandboxTemplate>('SandboxTemplate', {
            namespace: ns,
            name: 'e2e-changing',
          });
          return t?.spec.env?.some((e) => e.name === revision.name);
        });
        proc!.controller()!.enqueue(ns, 'zeta');
        await proc!.controller()!.idle();

        const still = (await getPod('zeta'))!;
        expect(still.metadata?.uid).toBe(before.metadata?.uid);
        expect(still.metadata?.deletionTimestamp).toBeUndefined();
        const envOf = (p: V1Pod) => p.spec?.containers.find((x) => x.name === 'sandbox')?.env ?? [];
        expect(envOf(still)).not.toContainEqual(revision);
        const sb = (await getSandbox('zeta'))!;
        expect(sb.status?.phase).toBe('Running');
        expect(sb.status?.restartCount ?? 0).toBe(0);

        await setDesiredState('zeta', 'Stopped');
        await waitPhase('zeta', 'Stopped');
        await setDesiredState('zeta', 'Running');
        await waitPhase('zeta', 'Running');
        const after = await newPodAfter('zeta', before);
        expect(envOf(after)).toContainEqual(revision);
        const netpol = await api().net.readNamespacedNetworkPolicy({ namespace: ns, name: 'zeta-netpol' });
        expect(netpol.spec?.egress?.some((r) => r.to?.some((p) => p.ipBlock?.cidr === '0.0.0.0/0'))).toBe(
          true,
        );
      },
      opts.testTimeoutMs,
    );

    it(
      'deleting the Sandbox garbage-collects its Pod, claim, NetworkPolicy, ServiceAccount and Secret',
      async () => {
        await createSandbox('gamma');
        await waitPhase('gamma', 'Running');
        const { core, net, custom } = api();
        await custom.deleteNamespacedCustomObject(named('sandboxes', 'gamma'));
        await waitFor('the Sandbox to go', async () => !(await getSandbox('gamma')));
        const left = async () => {
          const checks: Array<[string, () => Promise<unknown>]> = [
            ['Pod', () => core.readNamespacedPod({ namespace: ns, name: 'gamma-pod' })],
            [
              'PersistentVolumeClaim',
              () => core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'gamma-workspace' }),
            ],
            ['NetworkPolicy', () => net.readNamespacedNetworkPolicy({ namespace: ns, name: 'gamma-netpol' })],
            ['ServiceAccount', () => core.readNamespacedServiceAccount({ namespace: ns, name: 'gamma-sa' })],
            ['Secret', () => core.readNamespacedSecret({ namespace: ns, name: 'gamma-sandboxd-token' })],
          ];
          const out: string[] = [];
          for (const [kind, read] of checks) if (!(await gone(read()))) out.push(kind);
          return out;
        };
        await waitFor(
          'every child to be garbage-collected',
          async () => (await left()).length === 0,
          async () => `still there: ${(await left()).join(', ')}`,
        );
      },
      opts.testTimeoutMs,
    );

    it(
      "someone else's ServiceAccount and Secret under a sandbox's child names are never modified; the sandbox reports the conflict and starts once they are gone",
      async () => {
        const { core } = api();
        const labels = { team: 'billing' };
        await core.createNamespacedServiceAccount({
          namespace: ns,
          body: { metadata: { name: 'payments-sa', labels } },
        });
        await core.createNamespacedSecret({
          namespace: ns,
          body: {
            metadata: { name: 'payments-sandboxd-token', labels },
            stringData: { password: 'hunter2' },
          },
        });
        const readSa = () => core.readNamespacedServiceAccount({ namespace: ns, name: 'payments-sa' });
        const readSecret = () =>
          core.readNamespacedSecret({ namespace: ns, name: 'payments-sandboxd-token' });
        const before = [await readSa(), await readSecret()];
        const sb = await createSandbox('payments');
        await waitFor(
          'the ServiceAccount conflict in status',
          async () => (await getSandbox('payments'))?.status?.message?.includes('payments-sa already exists'),
          () => describeSandbox('payments'),
        );
        // Also a Warning Event on the Sandbox, once however often the controller retries meanwhile.
        const takenEvents = async () =>
          (
            await core.listNamespacedEvent({
              namespace: ns,
              fieldSelector: 'involvedObject.name=payments,reason=ChildNameTaken',
            })
          ).items;
        await waitFor(
          'three attempts on the taken name',
          async () => ((await getSandbox('payments'))?.status?.failureCount ?? 0) >= 3,
          () => describeSandbox('payments'),
        );
        await proc!.events.flush();
        const taken = await takenEvents();
        expect(taken).toHaveLength(1);
        expect(taken[0]).toMatchObject({
          type: 'Warning',
          involvedObject: { kind: 'Sandbox', name: 'payments', uid: sb.metadata.uid },
          source: { component: 'agenttier-controller' },
        });
        expect(taken[0]?.message).toBe(
          `ServiceAccount ${ns}/payments-sa already exists and does not belong to sandbox "payments"; ` +
            'AgentTier never modifies or deletes objects it does not own: remove or rename it, or choose another sandbox name',
        );
        const during = [await readSa(), await readSecret()];
        for (const [i, o] of during.entries()) {
          expect(o.metadata?.uid).toBe(before[i]!.metadata?.uid);
          expect(o.metadata?.resourceVersion).toBe(before[i]!.metadata?.resourceVersion);
        }
        expect((await getSandbox('payments'))?.status?.phase).not.toBe('Error');

        await core.deleteNamespacedServiceAccount({ namespace: ns, name: 'payments-sa' });
        await waitFor(
          'the Secret conflict in status',
          async () =>
            (await getSandbox('payments'))?.status?.message?.includes(
              'payments-sandboxd-token already exists',
            ),
          () => describeSandbox('payments'),
        );
        // Another object in the way: an Event of its own.
        await waitFor('an Event about the Secret', async () => {
          await proc!.events.flush();
          return (await takenEvents()).some((e) =>
            e.message?.startsWith(`Secret ${ns}/payments-sandboxd-token `),
          );
        });
        const secret = await readSecret();
        expect(secret.metadata?.resourceVersion).toBe(before[1]!.metadata?.resourceVersion);
        await core.deleteNamespacedSecret({ namespace: ns, name: 'payments-sandboxd-token' });
        await waitPhase('payments', 'Running');
        expect(ownerRef(await readSa(), sb)).toBeTruthy();
        expect(ownerRef(await readSecret(), sb)).toBeTruthy();
      },
      opts.testTimeoutMs,
    );

    it(
      "labels naming a live sandbox's uid adopt nothing: a labelled NetworkPolicy is reported, never modified, and the orphan sweep deletes no claim that only carries the labels",
      async () => {
        const { core, custom, net } = api();
        // Stopped, so the uid is known before the sandbox makes any child.
        const sb = (await custom.createNamespacedCustomObject({
          ...ids('sandboxes'),
          body: {
            apiVersion: API_VERSION,
            kind: 'Sandbox',
            metadata: { name: 'claims', namespace: ns },
            spec: { templateRef: { name: TEMPLATE, kind: 'SandboxTemplate' }, desiredState: 'Stopped' },
          },
        })) as Sandbox;
        const labels = {
          'agenttier.io/managed': 'true',
          'agenttier.io/sandbox': 'claims',
          'agenttier.io/sandbox-uid': sb.metadata.uid!,
          team: 'billing',
        };
        await net.createNamespacedNetworkPolicy({
          namespace: ns,
          body: {
            metadata: { name: 'claims-netpol', labels },
            spec: { podSelector: { matchLabels: { team: 'billing' } }, policyTypes: ['Ingress'] },
          },
        });
        // A claim labelled as a child of a sandbox that does not exist (no owner reference).
        await core.createNamespacedPersistentVolumeClaim({
          namespace: ns,
          body: {
            metadata: {
              name: 'billing-data',
              labels: { ...labels, 'agenttier.io/sandbox-uid': '00000000-0000-4000-8000-00000000000a' },
            },
            spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } },
          },
        });
        const readPolicy = () => net.readNamespacedNetworkPolicy({ namespace: ns, name: 'claims-netpol' });
        const readClaim = () =>
          core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'billing-data' });
        const before = [await readPolicy(), await readClaim()];
        await setDesiredState('claims', 'Running');
        await waitFor(
          'the NetworkPolicy conflict in status',
          async () =>
            (await getSandbox('claims'))?.status?.message?.includes(
              `NetworkPolicy ${ns}/claims-netpol already exists and does not belong to sandbox "claims"`,
            ),
          () => describeSandbox('claims'),
        );
        // The sweep runs; what it may remove meanwhile (children of earlier cases' deleted sandboxes that
        // a real garbage collector has not reached yet) is not counted: the claims must be untouched.
        await proc!.controller()!.collectOrphans();
        const during = [await readPolicy(), await readClaim()];
        for (const [i, o] of during.entries()) {
          expect(o.metadata?.uid).toBe(before[i]!.metadata?.uid);
          expect(o.metadata?.resourceVersion).toBe(before[i]!.metadata?.resourceVersion);
          expect(o.metadata?.deletionTimestamp).toBeUndefined();
        }
        expect((await getSandbox('claims'))?.status?.phase).not.toBe('Error');
        await net.deleteNamespacedNetworkPolicy({ namespace: ns, name: 'claims-netpol' });
        await core.deleteNamespacedPersistentVolumeClaim({ namespace: ns, name: 'billing-data' });
        await waitPhase('claims', 'Running');
        expect(ownerRef(await readPolicy(), sb)).toBeTruthy();
        await custom.deleteNamespacedCustomObject(named('sandboxes', 'claims'));
      },
      opts.testTimeoutMs,
    );

    it(
      'credentials: a Secret labelled for sandboxes becomes envFrom and a read-only secret volume; an unlabelled one is refused before any pod',
      async () => {
        const { core } = api();
        const secret = (name: string, labels: Record<string, string>) =>
          core.createNamespacedSecret({
            namespace: ns,
            body: { metadata: { name, labels }, stringData: { TOKEN: 'not-a-real-token' } },
          });
        await secret('e2e-gh', { 'agenttier.io/credential': 'true' });
        await secret('e2e-db', { team: 'billing' });
        await createTemplate('e2e-creds', {
          credentials: [
            { secretName: 'e2e-gh', envPrefix: 'GH_' },
            { secretName: 'e2e-gh', mountAs: 'file', mountPath: '/credentials/gh' },
          ],
        });
        await createTemplate('e2e-creds-bad', { credentials: [{ secretName: 'e2e-db' }] });
        await createSandbox('creds', 'e2e-creds');
        const pod = await waitFor(
          'the pod of creds',
          () => getPod('creds'),
          () => describeSandbox('creds'),
        );
        const main = pod.spec!.containers.find((x) => x.name === 'sandbox')!;
        expect(main.envFrom).toEqual([{ secretRef: { name: 'e2e-gh' }, prefix: 'GH_' }]);
        expect(main.volumeMounts).toContainEqual({
          name: 'cred-1',
          mountPath: '/credentials/gh',
          readOnly: true,
        });
        expect(pod.spec!.volumes).toContainEqual({
          name: 'cred-1',
          secret: { secretName: 'e2e-gh', defaultMode: 0o440 },
        });
        expect(JSON.stringify(pod)).not.toContain('not-a-real-token');
        await createSandbox('creds-bad', 'e2e-creds-bad');
        const failed = await waitPhase('creds-bad', 'Error');
        expect(failed.status?.message).toContain('not labelled for sandboxes');
        expect(await getPod('creds-bad')).toBeUndefined();
      },
      opts.testTimeoutMs,
    );
  });
}
