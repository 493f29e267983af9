// The limits table (contract/src/limits.ts) as a real API server enforces it through the generated
// CRDs: the same mount paths, durations and memory sizes the REST API refuses are refused by
// `kubectl apply`, with the router's messages. Real servers only (the fake has no CEL): scripts/kube.sh
// runs it on v1.26.1 and v1.32.13; any cluster works with AGENTTIER_REAL_KUBE=1 KUBECONFIG=...
import { randomBytes } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOnRealCluster } from '@agenttier/testkit';
import { MOUNT_PATH_DENY } from '@agenttier/contract';
import { applyInstallManifests } from '../install/apply.ts';
import { renderInstallManifests } from '../install/install-manifests.ts';

interface StatusBody {
  code?: number;
  message?: string;
}

async function outcome(p: Promise<unknown>): Promise<StatusBody> {
  try {
    await p;
    return { code: 201 };
  } catch (e) {
    const body = (e as { body?: unknown }).body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as StatusBody;
  }
}

describeOnRealCluster('CRD limits (real server)', () => {
  describe('CRD limits (real server)', () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const namespace = `agenttier-limits-${randomBytes(3).toString('hex')}`;
    const co = kc.makeApiClient(CustomObjectsApi);
    let n = 0;
    const createSandbox = (spec: Record<string, unknown>) =>
      outcome(
        co.createNamespacedCustomObject({
          group: 'agenttier.io',
          version: 'v1alpha1',
          namespace,
          plural: 'sandboxes',
          body: {
            apiVersion: 'agenttier.io/v1alpha1',
            kind: 'Sandbox',
            metadata: { name: `sb-${n++}` },
            spec: { templateRef: { name: 't' }, ...spec },
          },
        }),
      );

    beforeAll(async () => {
      const objects = renderInstallManifests({ namespace }) as unknown as KubernetesObject[];
      await applyInstallManifests(objects, { kubeConfig: kc });
    });
    afterAll(async () => {
      await kc
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
    });

    it('refuses every denied workspace mount path, and unclean ones, with 422', async () => {
      for (const mountPath of [
        ...MOUNT_PATH_DENY.exact,
        ...MOUNT_PATH_DENY.tree,
        '/etc/ssl',
        '/a/../etc',
        '//etc',
      ]) {
        const r = await createSandbox({ storage: { mountPath } });
        expect(r.code, mountPath).toBe(422);
        expect(r.message).toContain('spec.storage.mountPath');
      }
    });

    it('accepts clean paths outside the denylist', async () => {
      for (const mountPath of ['/workspace', '/home/user/work', '/var/lib/app', '/opt/app']) {
        expect((await createSandbox({ storage: { mountPath } })).code, mountPath).toBe(201);
      }
    });

    it('refuses durations over 720h (and ones that overflow), accepts 720h and 0', async () => {
      for (const timeout of ['721h', '43201m', '99999999999999999999h']) {
        const r = await createSandbox({ timeout });
        expect(r.code, timeout).toBe(422);
        expect(r.message).toContain('spec.timeout');
      }
      for (const timeout of ['720h', '0', '90s'])
        expect((await createSandbox({ timeout })).code, timeout).toBe(201);
    });

    it('refuses credentials with a bad secret name, prefix, mount path or mode, and too many of them', async () => {
      const bad: Array<[unknown[], string]> = [
        [[{ secretName: 'Bad_Name' }], 'secretName'],
        [[{ secretName: 'ok', envPrefix: '1X' }], 'envPrefix'],
        [[{ secretName: 'ok', mountAs: 'file', mountPath: '/etc/creds' }], 'mountPath'],
        [[{ secretName: 'ok', mountAs: 'volume' }], 'mountAs'],
        [Array.from({ length: 17 }, () => ({ secretName: 'ok' })), 'credentials'],
      ];
      for (const [credentials, field] of bad) {
        const r = await createSandbox({ credentials });
        expect(r.code, JSON.stringify(credentials).slice(0, 80)).toBe(422);
        expect(r.message).toContain(field);
      }
      const good = [
        { secretName: 'gh', envPrefix: 'GH_' },
        { secretName: 'ssh', mountAs: 'file', mountPath: '/credentials/ssh' },
      ];
      expect((await createSandbox({ credentials: good })).code).toBe(201);
    });
  });
});
