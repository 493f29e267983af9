// Kubernetes ServiceAccount tokens on a real API server: the router reviews tokens with TokenReview,
// accepts a projected token minted for its audience, refuses the API server's own audience, stops
// accepting a token once its ServiceAccount is deleted, and the router's declared RBAC (ROUTER_CALLS,
// what the install manifests grant) is exactly enough to ask.
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration token-review.real
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROUTER_CALLS, rulesFor } from '@agenttier/platform-kubernetes';
import { describeOnRealCluster, eventually } from '@agenttier/testkit';
import type { RouterProcess } from '../router/start-router.ts';
import { startRouter } from '../router/start-router.ts';
import { kubeTokenReview } from '../router/token-review-call.ts';
import { realOperatorCluster } from '../testing/index.ts';

describeOnRealCluster('ServiceAccount tokens on a real API server', () => {
  describe('ServiceAccount tokens on a real API server (TokenReview)', () => {
    const id = randomBytes(3).toString('hex');
    const ns = `agenttier-tr-${id}`;
    const clusterRole = `agenttier-router-tr-${id}`;
    const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-tr-real-'));
    const quiet = pino({ level: process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'silent' });
    let kc: KubeConfig;
    let core: CoreV1Api;
    let router: RouterProcess | undefined;

    const tokenFor = async (sa: string, audiences: string[]): Promise<string> => {
      const r = await core.createNamespacedServiceAccountToken({
        name: sa,
        namespace: ns,
        body: {
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'TokenRequest',
          spec: { audiences, expirationSeconds: 600 },
        },
      });
      return r.status!.token!;
    };
    const me = async (token: string) => {
      const res = await fetch(`${router!.url}/api/v1/user/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    };
    /** A kubeconfig acting as ServiceAccount `sa` of the test namespace. */
    const as = (sa: string) => {
      const out = new KubeConfig();
      out.loadFromDefault();
      const user = out.getCurrentUser()!;
      out.users = out.users.map((u) =>
        u.name === user.name ? { ...u, impersonateUser: `system:serviceaccount:${ns}:${sa}` } : u,
      );
      return out;
    };

    beforeAll(async () => {
      kc = (await realOperatorCluster()).kubeConfig;
      core = kc.makeApiClient(CoreV1Api);
      await core.createNamespace({ body: { metadata: { name: ns } } });
      for (const name of ['agent', 'other-agent', 'router', 'nobody'])
        await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name } } });
      // The router's ServiceAccount gets exactly its declared cluster-wide rules.
      const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
      await rbac.createClusterRole({
        body: { metadata: { name: clusterRole }, rules: rulesFor(ROUTER_CALLS, 'cluster') },
      });
      await rbac.createClusterRoleBinding({
        body: {
          metadata: { name: clusterRole },
          roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: clusterRole },
          subjects: [{ kind: 'ServiceAccount', name: 'router', namespace: ns }],
        },
      });
      router = await startRouter({
        kubeConfig: kc,
        namespace: ns,
        sandboxNamespaces: [ns],
        host: '127.0.0.1',
        port: 0,
        logger: quiet,
        dataDir,
        serviceAccountTokens: { audience: 'agenttier', cacheTtlMs: 500 },
      });
    }, 120_000);

    afterAll(async () => {
      await router?.close();
      const rbac = kc?.makeApiClient(RbacAuthorizationV1Api);
      await rbac?.deleteClusterRoleBinding({ name: clusterRole }).catch(() => undefined);
      await rbac?.deleteClusterRole({ name: clusterRole }).catch(() => undefined);
      await core?.deleteNamespace({ name: ns }).catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('a projected token for the router audience logs in as serviceaccount:NS/NAME (not an admin)', async () => {
      const r = await me(await tokenFor('agent', ['agenttier']));
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      expect(r.body).toMatchObject({ id: `serviceaccount:${ns}/agent`, isAdmin: false });
      expect(r.body.groups).toEqual(
        expect.arrayContaining(['system:serviceaccounts', `system:serviceaccounts:${ns}`]),
      );
    });

    it("a token for the API server's audience, or a tampered one, is refused", async () => {
      const apiToken = await tokenFor('agent', ['https://kubernetes.default.svc']);
      expect((await me(apiToken)).status).toBe(401);
      const good = await tokenFor('other-agent', ['agenttier']);
      const tampered = `${good.slice(0, -4)}${good.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
      expect((await me(tampered)).status).toBe(401);
    });

    it('deleting the ServiceAccount revokes its token within the cache delay', async () => {
      const token = await tokenFor('other-agent', ['agenttier']);
      expect((await me(token)).status).toBe(200);
      await core.deleteNamespacedServiceAccount({ name: 'other-agent', namespace: ns });
      await eventually(
        async () => ((await me(token)).status === 401 ? true : undefined),
        'the deleted ServiceAccount token to be refused',
        30_000,
      );
    });

    it("the router's declared RBAC allows TokenReview; a ServiceAccount without it gets 403", async () => {
      const token = await tokenFor('agent', ['agenttier']);
      const granted = await kubeTokenReview(as('router'))(token, ['agenttier']);
      expect(granted).toMatchObject({
        authenticated: true,
        user: { username: `system:serviceaccount:${ns}:agent` },
      });
      await expect(kubeTokenReview(as('nobody'))(token, ['agenttier'])).rejects.toThrow(/403|forbidden/i);
    });
  });
});
