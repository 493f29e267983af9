// Every rendering of the install manifests (kustomize base and overlays, Helm value sets,
// `agenttier install --render`) through a real API server: `kubectl apply --dry-run=server` of each,
// then the Helm defaults applied for real. scripts/kube.sh runs it on v1.26.1 and v1.32.13; any
// cluster works: AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration deploy-manifests.real
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { KubernetesObject } from '@kubernetes/client-node';
import { AppsV1Api, CoreV1Api, KubeConfig, NetworkingV1Api } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import { DEFAULT_BLOCKED_CIDRS, buildNetworkPolicy } from '../runtime/network-policy.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeOnRealCluster } from '@agenttier/testkit';
import { stringify } from 'yaml';
import { applyInstallManifests } from './apply.ts';
import { renderInstallManifests } from './install-manifests.ts';
import { helm, RENDERINGS } from '../testing/manifest-renderings.ts';
import type { Obj } from '../testing/manifest-renderings.ts';

const run = promisify(execFile);
async function kubectl(args: string[]): Promise<string> {
  try {
    return (await run('kubectl', args, { encoding: 'utf8', maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    throw new Error(
      `kubectl ${args.join(' ')} failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`,
    );
  }
}

describeOnRealCluster('deployment manifests (real server)', () => {
  describe('deployment manifests on a real API server', () => {
    const work = mkdtempSync(join(tmpdir(), 'agenttier-manifests-real-'));
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const write = (name: string, objects: Obj[]) => {
      const file = join(work, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, objects.map((o) => `---\n${stringify(o)}`).join(''));
      return file;
    };
    beforeAll(async () => {
      // The custom resources in the manifests (templates) need their CRDs served first, and the
      // namespaced objects their namespace: both as `agenttier install --apply` creates them.
      const base = renderInstallManifests().filter(
        (o) => o.kind === 'CustomResourceDefinition' || o.kind === 'Namespace',
      );
      await applyInstallManifests(base as KubernetesObject[], { kubeConfig: kc, crdTimeoutMs: 60_000 });
    });
    afterAll(() => rmSync(work, { recursive: true, force: true }));

    for (const [name, render] of Object.entries(RENDERINGS)) {
      it(`${name}: every object passes (kubectl apply --dry-run=server)`, async () => {
        const objects = render();
        const out = await kubectl(['apply', '--dry-run=server', '-f', write(name, objects)]);
        expect(out.trim().split('\n')).toHaveLength(objects.length);
      });
    }

    it("the sandbox NetworkPolicies the controller writes pass the server's validation: allowInternet's IPv4, IPv6 and NAT64 exceptions are strict subsets, allowed domains any family", async () => {
      const sandbox = {
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'np-check', namespace: 'default', uid: '00000000-0000-4000-8000-0000000000aa' },
        spec: { templateRef: { name: 't', kind: 'ClusterSandboxTemplate' } },
      } as Sandbox;
      const blockedCidrs = [...DEFAULT_BLOCKED_CIDRS, '203.0.113.0/24', '198.51.100.7/32', '2001:db8:1::/48'];
      const net = kc.makeApiClient(NetworkingV1Api);
      for (const network of [
        { allowInternet: true, allowedDomains: [] },
        { allowInternet: false, allowedDomains: ['api.example.com'] },
      ]) {
        const body = buildNetworkPolicy({
          sandbox,
          effective: { network, templateName: 't' } as unknown as EffectiveSandbox,
          router: { namespace: 'agenttier', podLabels: { 'app.kubernetes.io/component': 'router' } },
          blockedCidrs,
          resolvedIps: [
            '192.0.2.10',
            '2001:db8::10',
            '64:ff9b::c000:20a',
            '64:ff9b::a60:1',
            '::ffff:10.96.0.1',
          ],
        });
        const stored = await net.createNamespacedNetworkPolicy({ namespace: 'default', body, dryRun: 'All' });
        expect(stored.spec?.egress).toEqual(body.spec?.egress);
      }
    });

    it('helm defaults applied for real: every object stored, the Deployments accepted', async () => {
      const objects = helm();
      const out = await kubectl([
        'apply',
        '--server-side',
        // The same manager as `agenttier install --apply`: the other suites on this server apply the
        // cluster roles too (with another namespace in their subjects), and a manager never
        // conflicts with itself, whichever file runs first.
        '--field-manager',
        'agenttier-install',
        '--force-conflicts',
        '-f',
        write('helm-real', objects),
      ]);
      expect(out.trim().split('\n')).toHaveLength(objects.length);
      const deployments = await kc
        .makeApiClient(AppsV1Api)
        .listNamespacedDeployment({ namespace: 'agenttier' });
      expect(deployments.items.map((d) => d.metadata?.name).sort()).toEqual(
        objects
          .filter((o) => o.kind === 'Deployment')
          .map((o) => o.metadata.name)
          .sort(),
      );
      const sa = await kc.makeApiClient(CoreV1Api).listNamespacedServiceAccount({ namespace: 'agenttier' });
      expect(sa.items.length).toBeGreaterThanOrEqual(2);
    });
  });
});
