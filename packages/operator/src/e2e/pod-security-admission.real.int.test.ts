// Pod Security admission of real API servers (v1.26 and v1.32 in scripts/kube.sh) against the sandbox
// pod the controller builds: the default pod (a root first step with SETUID, SETGID, SETPCAP and KILL)
// is admitted where the namespace enforces `baseline` and refused where it enforces `restricted`; the
// opt-in restricted pod is admitted there. Server-side dry runs: no kubelet needed, nothing is stored.
import { randomBytes } from 'node:crypto';
import type { V1Pod } from '@kubernetes/client-node';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import type { SandboxPodSecurity } from '@agenttier/platform-kubernetes';
import { buildPod } from '@agenttier/platform-kubernetes';
import { describeOnRealCluster } from '@agenttier/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const effective: EffectiveSandbox = {
  mode: 'code',
  image: 'agenttier/minimal-shell:dev',
  pullPolicy: 'IfNotPresent',
  resources: { cpu: '100m', memory: '256Mi', pids: 256 },
  storage: { size: '1Gi', mountPath: '/workspace' },
  network: { allowInternet: false, allowedDomains: [] },
  env: [],
  workingDir: '/workspace',
  shell: '/bin/bash',
  agent: {},
  templateName: 'e2e-shell',
};

describeOnRealCluster('sandbox pods under Pod Security admission', () => {
  describe('sandbox pods under Pod Security admission (real API server, dry run)', () => {
    const suffix = randomBytes(3).toString('hex');
    const namespaces = { baseline: `agenttier-pss-b-${suffix}`, restricted: `agenttier-pss-r-${suffix}` };
    const kc = new KubeConfig();
    kc.loadFromDefault();
    const core = kc.makeApiClient(CoreV1Api);

    const pod = (namespace: string, podSecurity: SandboxPodSecurity): V1Pod => {
      const sandbox: Sandbox = {
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'Sandbox',
        metadata: { name: 'pss', namespace, uid: '00000000-0000-4000-8000-000000000001' },
        spec: { templateRef: { name: 'e2e-shell' } },
      };
      return buildPod({ sandbox, effective, injectorImage: 'agenttier/sandboxd-injector:dev', podSecurity });
    };
    const admit = (namespace: string, podSecurity: SandboxPodSecurity) =>
      core.createNamespacedPod({ namespace, body: pod(namespace, podSecurity), dryRun: 'All' });

    beforeAll(async () => {
      for (const [level, name] of Object.entries(namespaces)) {
        await core.createNamespace({
          body: {
            metadata: {
              name,
              labels: {
                'pod-security.kubernetes.io/enforce': level,
                'pod-security.kubernetes.io/enforce-version': 'latest',
              },
            },
          },
        });
        // The ServiceAccount admission plugin wants the pod's ServiceAccount to exist.
        await core.createNamespacedServiceAccount({
          namespace: name,
          body: { metadata: { name: 'pss-sa' } },
        });
      }
    }, 120_000);

    afterAll(async () => {
      for (const name of Object.values(namespaces))
        await core.deleteNamespace({ name }).catch(() => undefined);
    });

    it('admits the default (baseline) pod where the namespace enforces baseline', async () => {
      const created = await admit(namespaces.baseline, 'baseline');
      const main = created.spec!.containers[0]!;
      expect(main.securityContext).toMatchObject({
        runAsUser: 0,
        capabilities: { drop: ['ALL'], add: ['SETUID', 'SETGID', 'SETPCAP', 'KILL'] },
      });
    });

    it('refuses the default pod where the namespace enforces restricted, naming why', async () => {
      const err = (await admit(namespaces.restricted, 'baseline').then(
        () => undefined,
        (e: unknown) => e,
      )) as { code?: number; body?: string } | undefined;
      expect(err?.code).toBe(403);
      const message = String((JSON.parse(String(err?.body)) as { message?: string }).message);
      expect(message).toContain('violates PodSecurity "restricted:latest"');
      expect(message).toContain(
        'runAsUser=0 (containers "sandboxd-inject", "sandbox" must not set runAsUser=0)',
      );
      expect(message).toContain('container "sandbox" must not include "KILL", "SETGID", "SETPCAP", "SETUID"');
    });

    it('admits the opt-in restricted pod where the namespace enforces restricted', async () => {
      const created = await admit(namespaces.restricted, 'restricted');
      expect(created.spec!.containers[0]!.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 1000,
      });
    });
  });
});
