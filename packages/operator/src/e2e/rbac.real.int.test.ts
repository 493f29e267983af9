// The controller and router running with exactly the RBAC the install manifests grant, on a real API
// server that enforces it (scripts/kube.sh's servers run --authorization-mode Node,RBAC): both are
// started in-process impersonating their ServiceAccounts, a sandbox goes through its life, and the
// server refuses them everything outside the sandbox namespace.
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration rbac.real
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KubernetesObject } from '@kubernetes/client-node';
import { AuthorizationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applyInstallManifests, renderInstallManifests } from '@agenttier/platform-kubernetes';
import { describeOnRealCluster, eventually } from '@agenttier/testkit';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { startController } from '../controller/start-controller.ts';
import type { RouterProcess } from '../router/start-router.ts';
import { startRouter } from '../router/start-router.ts';
import { startApiKubelet } from '../testing/index.ts';

type Obj = KubernetesObject & { roleRef?: { name: string }; subjects?: Array<{ name: string }> };

describeOnRealCluster('RBAC on a real API server', () => {
  describe('the generated RBAC on a real API server that enforces it', () => {
    const id = randomBytes(3).toString('hex');
    const installNs = `agenttier-rbac-${id}`;
    const sandboxNs = `agenttier-rbac-sb-${id}`;
    const elsewhere = `agenttier-rbac-other-${id}`;
    // Cluster-scoped names carry the id too, so parallel suites applying the manifests do not collide.
    const rename = (n: string) => n.replace(/^agenttier-(controller|router)/, `agenttier-$1-${id}`);
    const admin = new KubeConfig();
    admin.loadFromDefault();
    const as = (who: 'controller' | 'router') => {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      const user = kc.getCurrentUser()!;
      kc.users = kc.users.map((u) =>
        u.name === user.name
          ? { ...u, impersonateUser: `system:serviceaccount:${installNs}:agenttier-${who}-${id}` }
          : u,
      );
      return kc;
    };
    const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-rbac-real-'));
    let controller: ControllerProcess | undefined;
    let router: RouterProcess | undefined;
    let stopKubelet: (() => void) | undefined;
    const quiet = pino({ level: process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'silent' }, pino.destination(2));

    beforeAll(async () => {
      const core = admin.makeApiClient(CoreV1Api);
      for (const name of [installNs, sandboxNs, elsewhere])
        await core.createNamespace({ body: { metadata: { name } } });
      // A copy through JSON: the manifests share one subject object between bindings (structuredClone
      // would keep the sharing).
      const objects = (
        JSON.parse(
          JSON.stringify(renderInstallManifests({ namespace: installNs, sandboxNamespaces: [sandboxNs] })),
        ) as Obj[]
      ).filter((o) =>
        [
          'CustomResourceDefinition',
          'ServiceAccount',
          'ClusterRole',
          'ClusterRoleBinding',
          'Role',
          'RoleBinding',
          'ClusterSandboxTemplate',
        ].includes(o.kind!),
      );
      for (const o of objects) {
        if (o.kind === 'CustomResourceDefinition' || o.kind === 'ClusterSandboxTemplate') continue;
        o.metadata!.name = rename(o.metadata!.name!);
        if (o.roleRef) o.roleRef.name = rename(o.roleRef.name);
        for (const s of o.subjects ?? []) s.name = rename(s.name);
      }
      await applyInstallManifests(objects, { kubeConfig: admin, crdTimeoutMs: 60_000, force: true });
      controller = await startController({
        kubeConfig: as('controller'),
        namespace: installNs,
        identity: `rbac-${id}`,
        leaseName: `agenttier-rbac-${id}`,
        healthPort: 0,
        metricsPort: 0,
        host: '127.0.0.1',
        retryPeriodMs: 200,
        sandboxNamespaces: [sandboxNs],
        logger: quiet,
      });
      await eventually(() => controller!.isLeader(), 'the controller leads', 60_000);
      router = await startRouter({
        kubeConfig: as('router'),
        namespace: installNs,
        host: '127.0.0.1',
        port: 0,
        devAuth: true,
        dataDir,
        sandboxNamespaces: [sandboxNs],
        logger: quiet,
      });
      stopKubelet = startApiKubelet(admin, sandboxNs).stop;
    }, 90_000);

    afterAll(async () => {
      stopKubelet?.();
      await router?.close().catch(() => undefined);
      await controller?.close().catch(() => undefined);
      rmSync(dataDir, { recursive: true, force: true });
      const core = admin.makeApiClient(CoreV1Api);
      for (const name of [installNs, sandboxNs, elsewhere])
        await core.deleteNamespace({ name }).catch(() => undefined);
    }, 120_000);

    const api = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${router!.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, text: await res.text() };
    };
    const phase = async (name: string, ns = sandboxNs) => {
      const r = await api('GET', `/api/v1/sandboxes/${name}?namespace=${ns}`);
      return r.status === 200 ? (JSON.parse(r.text) as { status?: string }).status : `HTTP ${r.status}`;
    };

    it('a sandbox lives its whole life through the router and the controller with only the granted rules', async () => {
      const created = await api('POST', `/api/v1/sandboxes?namespace=${sandboxNs}`, {
        name: 'rb',
        template: 'minimal-shell',
      });
      expect(created.status, created.text).toBe(201);
      await eventually(async () => (await phase('rb')) === 'Running', 'Running', 120_000);
      expect((await api('POST', `/api/v1/sandboxes/rb/stop?namespace=${sandboxNs}`)).status).toBeLessThan(
        300,
      );
      await eventually(async () => (await phase('rb')) === 'Stopped', 'Stopped', 120_000);
      expect((await api('POST', `/api/v1/sandboxes/rb/resume?namespace=${sandboxNs}`)).status).toBeLessThan(
        300,
      );
      await eventually(async () => (await phase('rb')) === 'Running', 'Running again', 120_000);
      // The events feed: the router lists the Sandbox's Events with its granted `list events` only.
      const feed = await eventually(async () => {
        const r = await api('GET', `/api/v1/sandboxes/rb/events?namespace=${sandboxNs}`);
        expect(r.status, r.text).toBe(200);
        const reasons = (JSON.parse(r.text) as { events: Array<{ reason: string }> }).events.map(
          (e) => e.reason,
        );
        return reasons.includes('Stopped') && reasons;
      }, 'the Stopped event in the feed');
      expect(feed).toEqual(expect.arrayContaining(['Provisioned', 'Created', 'Running', 'Stopped']));
      expect((await api('DELETE', `/api/v1/sandboxes/rb?namespace=${sandboxNs}`)).status).toBeLessThan(300);
      await eventually(async () => (await phase('rb')) === 'HTTP 404', 'gone', 120_000);
    }, 600_000);

    it('the server refuses both everything namespaced outside the sandbox namespace, and Secrets cluster-wide', async () => {
      const can = async (who: 'controller' | 'router', attrs: Record<string, string>) => {
        const review = await admin.makeApiClient(AuthorizationV1Api).createSubjectAccessReview({
          body: {
            spec: {
              user: `system:serviceaccount:${installNs}:agenttier-${who}-${id}`,
              groups: [
                'system:serviceaccounts',
                `system:serviceaccounts:${installNs}`,
                'system:authenticated',
              ],
              resourceAttributes: attrs,
            },
          },
        });
        return review.status?.allowed === true;
      };
      // Granted where sandboxes live…
      expect(await can('controller', { verb: 'create', resource: 'pods', namespace: sandboxNs })).toBe(true);
      expect(await can('router', { verb: 'get', resource: 'secrets', namespace: sandboxNs })).toBe(true);
      // …and nowhere else.
      for (const who of ['controller', 'router'] as const) {
        for (const ns of [elsewhere, 'kube-system']) {
          for (const [verb, resource] of [
            ['get', 'secrets'],
            ['list', 'secrets'],
            ['create', 'pods'],
            ['list', 'pods'],
            ['delete', 'serviceaccounts'],
            ['update', 'networkpolicies'],
          ] as const) {
            expect(
              await can(who, { verb, resource, namespace: ns }),
              `${who} ${verb} ${resource} in ${ns}`,
            ).toBe(false);
          }
        }
        expect(
          await can(who, { verb: 'list', resource: 'secrets' }),
          `${who} list secrets cluster-wide`,
        ).toBe(false);
        expect(await can(who, { verb: 'list', resource: 'pods' }), `${who} list pods cluster-wide`).toBe(
          false,
        );
      }
      expect(await can('router', { verb: 'list', resource: 'secrets', namespace: sandboxNs })).toBe(false);
      expect(await can('router', { verb: 'watch', resource: 'secrets', namespace: sandboxNs })).toBe(false);
    });

    it('a sandbox in a namespace that hosts none goes to Error, and nothing is created there', async () => {
      const created = await api('POST', `/api/v1/sandboxes?namespace=${elsewhere}`, {
        name: 'stray',
        template: 'minimal-shell',
      });
      // The router has no Role there: the API server refuses the Sandbox itself.
      expect(created.status, created.text).toBe(403);
      const pods = await admin.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: elsewhere });
      expect(pods.items).toEqual([]);
    });
  });
});
