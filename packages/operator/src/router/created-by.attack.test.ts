import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { generateApiKey } from '@agenttier/server';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { eventually } from '@agenttier/testkit';
import type { ControllerProcess } from '../controller/start-controller.ts';
import { createOwnedCredential, startClusterWithController, startTestRouter } from '../testing/index.ts';
import type { RouterProcess } from './start-router.ts';

/**
 * Mallory may create Sandbox objects in the namespace herself (kubectl), but is no admin of the
 * router. `spec.createdBy` is what the router's access checks and the credential owner check go by,
 * so she writes alice there: before, alice's Secret (annotated as hers) was mounted into mallory's
 * sandbox, which mallory had shared with herself. Only the creator the router recorded through the
 * status subresource counts.
 */
const NS = 'default';
const group = { group: 'agenttier.io', version: 'v1alpha1', namespace: NS, plural: 'sandboxes' };

describe('spec.createdBy written around the router is not believed', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-created-by-'));
  const adminKey = generateApiKey();
  let fake: FakeKubeApiServer;
  let controller: ControllerProcess;
  let router: RouterProcess;
  let custom: CustomObjectsApi;
  let core: CoreV1Api;
  const keys: Record<string, string> = {};

  const rest = async (key: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${router.url}${path}`, {
      method,
      headers: { 'x-api-key': key, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
  };
  const names = async (key: string) =>
    ((await rest(key, 'GET', '/api/v1/sandboxes')).json.sandboxes as Array<{ name: string }>).map(
      (s) => s.name,
    );
  const raw = (name: string) => custom.getNamespacedCustomObject({ ...group, name }) as Promise<Sandbox>;

  beforeAll(async () => {
    ({ fake, controller } = await startClusterWithController());
    router = await startTestRouter(fake, { dataDir, adminKey });
    custom = fake.kubeConfig.makeApiClient(CustomObjectsApi);
    core = fake.kubeConfig.makeApiClient(CoreV1Api);
    for (const user of ['alice', 'mallory']) {
      const made = await rest(adminKey, 'POST', '/api/v1/user/api-keys', { name: user, user: { id: user } });
      expect(made.status).toBe(201);
      keys[user] = made.json.key as string;
    }
    // alice's own credential: labelled for sandboxes, and hers alone.
    await createOwnedCredential(core, {
      namespace: NS,
      name: 'alice-gh',
      owner: 'alice',
      token: 'alice-secret-token',
    });
  });
  afterAll(async () => {
    await router?.close();
    await controller?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("a Sandbox object claiming alice as its creator gives nobody alice's access, and never gets alice's Secret", async () => {
    await custom.createNamespacedCustomObject({
      ...group,
      body: {
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'forged' },
        spec: {
          templateRef: { name: 'minimal-shell', kind: 'ClusterSandboxTemplate' },
          createdBy: { sub: 'alice', email: 'alice@example.com' },
          sharedWith: [{ sub: 'mallory', role: 'operator', sharedAt: '2026-01-01T00:00:00Z' }],
          credentials: [{ secretName: 'alice-gh', envPrefix: 'GH_' }],
        },
      },
    });
    const refused = await eventually(async () => {
      const sb = await raw('forged');
      return sb.status?.message?.includes('no creator recorded by the router') ? sb : undefined;
    }, 'the credential refused');
    expect(refused.status?.message).toContain('Secret "alice-gh" is user alice\'s');
    // No pod ever mounted alice's Secret.
    const pods = await core.listNamespacedPod({ namespace: NS });
    expect(pods.items.filter((p) => p.metadata?.name === 'forged-pod')).toEqual([]);
    // Neither alice nor mallory sees it through the router; the admin does, without a creator.
    expect(await names(keys.alice!)).not.toContain('forged');
    expect(await names(keys.mallory!)).not.toContain('forged');
    expect((await rest(keys.mallory!, 'GET', '/api/v1/sandboxes/forged')).status).toBe(404);
    const asAdmin = await rest(adminKey, 'GET', '/api/v1/sandboxes/forged');
    expect(asAdmin.status).toBe(200);
    expect(asAdmin.json.createdBy).toBeUndefined();
  });

  it('a sandbox alice creates through the router is hers (recorded in status), and editing spec.createdBy afterwards changes nothing', async () => {
    const created = await rest(keys.alice!, 'POST', '/api/v1/sandboxes', {
      name: 'alices',
      template: 'minimal-shell',
      credentials: [{ secretName: 'alice-gh', envPrefix: 'GH_' }],
    });
    expect(created.status, JSON.stringify(created.json)).toBe(201);
    expect(created.json.createdBy).toMatchObject({ sub: 'alice' });
    const stored = await raw('alices');
    expect(stored.status?.createdBy).toMatchObject({ sub: 'alice' });
    // Her credential reaches her pod.
    const pod = await eventually(
      () => core.readNamespacedPod({ namespace: NS, name: 'alices-pod' }).catch(() => undefined),
      "alice's pod",
    );
    expect(pod.spec?.containers[0]?.envFrom).toContainEqual(
      expect.objectContaining({ secretRef: { name: 'alice-gh' } }),
    );

    // mallory (with update rights on Sandbox objects) rewrites the claim.
    await custom.patchNamespacedCustomObject(
      { ...group, name: 'alices', body: { spec: { createdBy: { sub: 'mallory' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(async () => (await raw('alices')).spec.createdBy?.sub === 'mallory', 'the edit stored');
    await eventually(async () => (await names(keys.alice!)).includes('alices'), 'still listed for alice');
    expect(await names(keys.mallory!)).not.toContain('alices');
    expect((await rest(keys.mallory!, 'GET', '/api/v1/sandboxes/alices')).status).toBe(404);
  });
});
