// The router's REST lifecycle against a real API server, with the controller electing itself leader
// on a Lease (as the Helm install runs it): create → Running → stop → resume → delete through
// `/api/v1`, the response naming the real Pod and claim, and unknown fields refused. scripts/kube.sh
// runs it on v1.26.1 and v1.32.13 (pods reported by the API-driven kubelet stand-in, api-kubelet.ts);
// any cluster works: AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration router.real
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  RbacAuthorizationV1Api,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { describeOnRealCluster, eventually } from '@agenttier/testkit';
import { describe, expect, it } from 'vitest';
import { createOwnedCredential, useRealRouterStack } from '../testing/index.ts';

describeOnRealCluster('router on a real cluster', () => {
  describe('router REST lifecycle on a real API server, controller on a Lease', () => {
    const stack = useRealRouterStack({
      prefix: 'router',
      templateCpu: '100m',
      controller: (ns) => ({ identity: `router-e2e-${ns}`, leaderElection: true }),
    });
    const { ns } = stack;

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${stack.router.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      const text = await res.text();
      return { status: res.status, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    const phase = (want: string) =>
      eventually(
        async () => {
          const got = await api('GET', `/api/v1/sandboxes/web?namespace=${ns}`);
          if (got.body.phase === 'Error') throw new Error(`went to Error: ${String(got.body.message)}`);
          return got.body.phase === want ? got.body : undefined;
        },
        `sandbox web to be ${want}`,
        stack.cluster.waitMs,
      );

    it('leads on a Lease with MicroTime renewals', async () => {
      const lease = await eventually(
        async () =>
          (
            await stack.cluster.kubeConfig
              .makeApiClient(CoordinationV1Api)
              .readNamespacedLease({ namespace: ns, name: 'agenttier-controller-leader' })
          ).spec,
        'the controller to hold its Lease',
        stack.cluster.waitMs,
      );
      expect(lease.holderIdentity).toBe(`router-e2e-${ns}`);
      expect(String(lease.renewTime)).toMatch(/\.\d{6}Z$/);
    });

    it('refuses unknown fields (400, naming them) and stores nothing', async () => {
      const res = await api('POST', `/api/v1/sandboxes?namespace=${ns}`, {
        name: 'web',
        namespace: ns,
        templateRef: { name: 'e2e-shell', kind: 'SandboxTemplate' },
        desiredState: 'Paused',
      });
      expect(res.status).toBe(400);
      expect(res.body.details).toEqual([
        { field: 'desiredState', rule: 'unrecognized_keys', message: 'is not a known field' },
      ]);
      expect((await api('GET', `/api/v1/sandboxes/web?namespace=${ns}`)).status).toBe(404);
    });

    it('creates, runs, stops, resumes and deletes a sandbox through the REST API', async () => {
      const created = await api('POST', `/api/v1/sandboxes?namespace=${ns}`, {
        name: 'web',
        namespace: ns,
        templateRef: { name: 'e2e-shell', kind: 'SandboxTemplate' },
      });
      expect(created.status).toBe(201);
      expect(created.body).toMatchObject({ podName: 'web-pod', pvcName: 'web-workspace' });
      await phase('Running');
      const core = stack.cluster.kubeConfig.makeApiClient(CoreV1Api);
      const pod = await core.readNamespacedPod({ namespace: ns, name: 'web-pod' });
      const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: ns, name: 'web-workspace' });

      expect((await api('POST', `/api/v1/sandboxes/web/stop?namespace=${ns}`)).status).toBe(200);
      await phase('Stopped');
      expect((await api('POST', `/api/v1/sandboxes/web/resume?namespace=${ns}`)).status).toBe(200);
      await phase('Running');
      const resumed = await core.readNamespacedPod({ namespace: ns, name: 'web-pod' });
      expect(resumed.metadata?.uid).not.toBe(pod.metadata?.uid);
      const sameClaim = await core.readNamespacedPersistentVolumeClaim({
        namespace: ns,
        name: 'web-workspace',
      });
      expect(sameClaim.metadata?.uid).toBe(claim.metadata?.uid);

      expect([200, 202, 204]).toContain(
        (await api('DELETE', `/api/v1/sandboxes/web?namespace=${ns}`)).status,
      );
      await eventually(
        async () => (await api('GET', `/api/v1/sandboxes/web?namespace=${ns}`)).status === 404,
        'the sandbox to be gone',
        stack.cluster.waitMs,
      );
    });

    it('records the creator through the status subresource, which a user allowed to create Sandboxes cannot write; a forged spec.createdBy counts for nothing', async () => {
      const kc = stack.cluster.kubeConfig;
      const custom = kc.makeApiClient(CustomObjectsApi);
      const core = kc.makeApiClient(CoreV1Api);
      const ids = { group: 'agenttier.io', version: 'v1alpha1', namespace: ns, plural: 'sandboxes' };
      // Through the router: the creator (the dev-auth admin) is in status.createdBy on the server.
      const created = await api('POST', `/api/v1/sandboxes?namespace=${ns}`, {
        name: 'owned',
        namespace: ns,
        templateRef: { name: 'e2e-shell', kind: 'SandboxTemplate' },
      });
      expect(created.status).toBe(201);
      const stored = (await custom.getNamespacedCustomObject({ ...ids, name: 'owned' })) as {
        spec: { createdBy?: { sub: string } };
        status?: { createdBy?: { sub: string } };
      };
      expect(stored.status?.createdBy?.sub).toBeTruthy();
      expect(stored.status?.createdBy).toEqual(stored.spec.createdBy);

      // mallory may create, update and patch Sandboxes here, as a namespace's editors may; not status.
      const rbacApi = kc.makeApiClient(RbacAuthorizationV1Api);
      await rbacApi.createNamespacedRole({
        namespace: ns,
        body: {
          metadata: { name: 'sandbox-editor' },
          rules: [
            {
              apiGroups: ['agenttier.io'],
              resources: ['sandboxes'],
              verbs: ['get', 'list', 'create', 'update', 'patch'],
            },
          ],
        },
      });
      await rbacApi.createNamespacedRoleBinding({
        namespace: ns,
        body: {
          metadata: { name: 'mallory-sandbox-editor' },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'sandbox-editor' },
          subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
        },
      });
      const asMallory = setHeaderOptions('Impersonate-User', 'mallory');
      await createOwnedCredential(core, {
        namespace: ns,
        name: 'alice-gh',
        owner: 'alice',
        token: 'alice-secret-token',
      });
      const forged = {
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'forged', namespace: ns },
        spec: {
          templateRef: { name: 'e2e-shell', kind: 'SandboxTemplate' },
          createdBy: { sub: 'alice' },
          credentials: [{ secretName: 'alice-gh', envPrefix: 'GH_' }],
        },
        status: { createdBy: { sub: 'alice' } },
      };
      const made = (await custom.createNamespacedCustomObject({ ...ids, body: forged }, asMallory)) as {
        status?: { createdBy?: unknown };
        metadata: { resourceVersion: string };
      };
      // The status subresource drops status on create, and writing it is refused.
      expect(made.status?.createdBy).toBeUndefined();
      await expect(
        custom.replaceNamespacedCustomObjectStatus(
          {
            ...ids,
            name: 'forged',
            body: {
              ...forged,
              metadata: { ...forged.metadata, resourceVersion: made.metadata.resourceVersion },
            },
          },
          asMallory,
        ),
      ).rejects.toMatchObject({ code: 403 });
      // The router shows no creator, and the controller never hands alice's Secret to it.
      const seen = await api('GET', `/api/v1/sandboxes/forged?namespace=${ns}`);
      expect(seen.status).toBe(200);
      expect(seen.body.createdBy).toBeUndefined();
      await eventually(
        async () =>
          String((await api('GET', `/api/v1/sandboxes/forged?namespace=${ns}`)).body.message).includes(
            'no creator recorded by the router',
          ),
        'the credential refused',
        stack.cluster.waitMs,
      );
      await expect(core.readNamespacedPod({ namespace: ns, name: 'forged-pod' })).rejects.toMatchObject({
        code: 404,
      });
      for (const name of ['owned', 'forged']) {
        await api('DELETE', `/api/v1/sandboxes/${name}?namespace=${ns}`);
      }
    });
  });
});
