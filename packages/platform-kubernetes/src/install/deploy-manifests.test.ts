import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeClusterWithCrds } from '../testing/fake-cluster.ts';
import { helm, RENDERINGS } from '../testing/manifest-renderings.ts';
import type { Obj } from '../testing/manifest-renderings.ts';
import {
  clusterRules,
  installNamespaceRules,
  renderInstallManifests,
  sandboxNamespaceRules,
} from './install-manifests.ts';

// The fake API server runs in this process: kubectl must run asynchronously so it can answer.
const run = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'agenttier-manifests-'));

async function servedKinds(kubeconfig: string): Promise<Set<string>> {
  const get = async (path: string) =>
    JSON.parse(
      (await run('kubectl', ['get', '--raw', path, '--kubeconfig', kubeconfig], { encoding: 'utf8' })).stdout,
    );
  const served = new Set<string>();
  const add = async (gv: string) => {
    const list = (await get(gv === 'v1' ? '/api/v1' : `/apis/${gv}`)) as {
      resources: Array<{ kind: string; name: string }>;
    };
    for (const r of list.resources) if (!r.name.includes('/')) served.add(`${gv}/${r.kind}`);
  };
  await add('v1');
  const groups = (await get('/apis')) as { groups: Array<{ versions: Array<{ groupVersion: string }> }> };
  for (const g of groups.groups) for (const v of g.versions) await add(v.groupVersion);
  return served;
}

describe('deployment manifests render and validate', () => {
  let fake: FakeKubeApiServer;
  let served: Set<string>;
  beforeAll(async () => {
    fake = await startFakeClusterWithCrds({ namespaces: ['agenttier'] });
    served = await servedKinds(fake.kubeconfigPath);
  });
  afterAll(async () => {
    await fake?.close();
    rmSync(work, { recursive: true, force: true });
  });

  for (const [name, render] of Object.entries(RENDERINGS)) {
    it(`${name}: every object passes the API server (kubectl apply --dry-run=server)`, async () => {
      const objects = render();
      expect(objects.length).toBeGreaterThan(10);
      // The fake serves every kind the manifests use (RuntimeClass and Ingress included).
      const unserved = objects.filter((o) => !served.has(`${o.apiVersion}/${o.kind}`));
      expect(unserved.map((o) => `${o.apiVersion} ${o.kind}`)).toEqual([]);
      const viaServer = objects;
      const file = join(work, `${name.replace(/\W+/g, '-')}.yaml`);
      writeFileSync(file, viaServer.map((o) => `---\n${stringify(o)}`).join(''));
      let out = '';
      try {
        ({ stdout: out } = await run(
          'kubectl',
          ['apply', '--dry-run=server', '--kubeconfig', fake.kubeconfigPath, '-f', file],
          {
            encoding: 'utf8',
          },
        ));
      } catch (err) {
        throw new Error(
          `kubectl apply --dry-run=server failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`,
        );
      }
      expect(out.trim().split('\n')).toHaveLength(viaServer.length);
    });

    it(`${name}: RBAC grants exactly the rules generated from the calls the code makes`, () => {
      const objects = render();
      for (const who of ['controller', 'router'] as const) {
        const cr = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name.endsWith(`-${who}`));
        const role = objects.find((o) => o.kind === 'Role' && o.metadata.name.endsWith(`-${who}`));
        expect(cr?.rules).toEqual(clusterRules(who));
        expect(role?.rules).toEqual(installNamespaceRules(who));
        const sandboxRole = objects.find(
          (o) => o.kind === 'Role' && o.metadata.name.endsWith(`-${who}-sandboxes`),
        );
        expect(sandboxRole?.metadata.namespace).toBe('default');
        expect(sandboxRole?.rules).toEqual(sandboxNamespaceRules(who));
      }
      // The router's pods carry the labels every sandbox NetworkPolicy admits to sandboxd.
      const router = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-router')) as
        { spec: { template: { metadata: { labels: Record<string, string> } } } } | undefined;
      expect(router?.spec.template.metadata.labels).toMatchObject({
        'app.kubernetes.io/name': 'agenttier',
        'app.kubernetes.io/component': 'router',
      });
    });
  }

  type RouterDeployment = {
    spec: {
      replicas: number;
      strategy?: { type: string };
      template: {
        spec: {
          securityContext: Record<string, unknown>;
          containers: Array<{
            env: Array<{ name: string; value?: string }>;
            volumeMounts: Array<{ name: string; mountPath: string }>;
          }>;
          volumes: Array<{ name: string; persistentVolumeClaim?: { claimName: string }; emptyDir?: object }>;
        };
      };
    };
  };
  const routerOf = (objects: Obj[]) =>
    objects.find(
      (o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-router'),
    ) as unknown as RouterDeployment;

  for (const [name, render] of Object.entries(RENDERINGS)) {
    it(`${name}: the router keeps invoke records on its own claim at /var/lib/agenttier (1 replica, Recreate)`, () => {
      const objects = render();
      const router = routerOf(objects);
      const pod = router.spec.template.spec;
      const container = pod.containers[0]!;
      expect(router.spec.replicas).toBe(1);
      expect(router.spec.strategy).toEqual({ type: 'Recreate' });
      expect(pod.securityContext.fsGroup).toBe(65532);
      expect(container.env).toContainEqual({ name: 'AGENTTIER_DATA_DIR', value: '/var/lib/agenttier' });
      expect(container.volumeMounts).toContainEqual({ name: 'data', mountPath: '/var/lib/agenttier' });
      const claim = pod.volumes.find((v) => v.name === 'data')?.persistentVolumeClaim?.claimName;
      const pvc = objects.find((o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim);
      expect(pvc?.spec).toMatchObject({
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: '1Gi' } },
      });
    });
  }

  it('router persistence off: an emptyDir, no claim, no Recreate, more replicas allowed; on: more replicas refused', () => {
    for (const objects of [
      helm('router.persistence.enabled=false', 'router.replicas=3'),
      renderInstallManifests({ routerPersistence: false, routerReplicas: 3 }) as Obj[],
    ]) {
      const router = routerOf(objects);
      expect(router.spec.replicas).toBe(3);
      expect(router.spec.strategy).toBeUndefined();
      expect(router.spec.template.spec.volumes.find((v) => v.name === 'data')).toEqual({
        name: 'data',
        emptyDir: {},
      });
      expect(objects.filter((o) => o.kind === 'PersistentVolumeClaim')).toEqual([]);
    }
    const classed = helm('router.persistence.storageClass=fast', 'router.persistence.size=5Gi');
    expect(classed.find((o) => o.kind === 'PersistentVolumeClaim')?.spec).toMatchObject({
      storageClassName: 'fast',
      resources: { requests: { storage: '5Gi' } },
    });
    expect(() => helm('router.replicas=2')).toThrow(/router.replicas must be 1/);
    expect(() => renderInstallManifests({ routerReplicas: 2 })).toThrow(/runs 1 replica/);
  });

  it('the router gets AGENTTIER_ADMIN_KEY from the Secret auth.adminKeySecret names, never a literal value', () => {
    type EnvVar = {
      name: string;
      value?: string;
      valueFrom?: { secretKeyRef?: { name: string; key: string } };
    };
    const envOf = (objects: Obj[]) =>
      (
        routerOf(objects) as unknown as {
          spec: { template: { spec: { containers: Array<{ env: EnvVar[] }> } } };
        }
      ).spec.template.spec.containers[0]!.env;
    expect(envOf(helm()).find((e) => e.name === 'AGENTTIER_ADMIN_KEY')).toBeUndefined();
    expect(envOf(helm('auth.adminKeySecret.name=agenttier-admin-key'))).toContainEqual({
      name: 'AGENTTIER_ADMIN_KEY',
      valueFrom: { secretKeyRef: { name: 'agenttier-admin-key', key: 'adminKey' } },
    });
    const custom = envOf(helm('auth.adminKeySecret.name=keys', 'auth.adminKeySecret.key=router-admin'));
    expect(custom.find((e) => e.name === 'AGENTTIER_ADMIN_KEY')).toEqual({
      name: 'AGENTTIER_ADMIN_KEY',
      valueFrom: { secretKeyRef: { name: 'keys', key: 'router-admin' } },
    });
  });

  const runtimeClassOf = (objects: Obj[]) =>
    objects
      .filter((o) => o.kind === 'ClusterSandboxTemplate')
      .map((o) => (o.spec as { runtimeClass?: string }).runtimeClass);

  it('the gVisor overlay (and Helm with gVisor on) set the runtime class on every template, with a runsc RuntimeClass', () => {
    for (const objects of [
      RENDERINGS['kustomize overlays/gvisor']!(),
      RENDERINGS['helm template (gVisor, web UI, ingress)']!(),
    ]) {
      expect(runtimeClassOf(objects)).toEqual(['gvisor', 'gvisor', 'gvisor']);
      const rc = objects.find((o) => o.kind === 'RuntimeClass');
      expect(rc).toMatchObject({ metadata: { name: 'gvisor' }, handler: 'runsc' });
    }
  });

  it('the router answers only its Service names and the ingress host; previews get a wildcard ingress rule', () => {
    const objects = RENDERINGS['helm template (gVisor, web UI, ingress)']!();
    const router = objects.find((o) => o.kind === 'Deployment' && o.metadata.name.endsWith('-router'))!;
    const env = (
      router.spec as {
        template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
      }
    ).template.spec.containers[0]!.env;
    const hosts = env.find((e) => e.name === 'AGENTTIER_ALLOWED_HOSTS')?.value?.split(',') ?? [];
    expect(hosts).toContain('agenttier.local');
    // The Service's in-cluster names (the web UI's proxy sends one of them as Host).
    expect(hosts.some((h) => /-router\.[a-z0-9-]+\.svc\.cluster\.local$/.test(h))).toBe(true);
    expect(env).toContainEqual({ name: 'AGENTTIER_PREVIEW_ORIGIN', value: 'https://*.preview.example.com' });
    expect(env).toContainEqual({ name: 'AGENTTIER_TRUSTED_PROXIES', value: '10.0.0.0/8,fd00::/8' });
    const ingress = objects.find((o) => o.kind === 'Ingress')!;
    const rules = (
      ingress.spec as {
        rules: Array<{ host: string; http: { paths: Array<{ backend: { service: { name: string } } }> } }>;
      }
    ).rules;
    const preview = rules.find((r) => r.host === '*.preview.example.com');
    expect(preview?.http.paths[0]!.backend.service.name).toBe(router.metadata.name);
    for (const o of [RENDERINGS['kustomize base']!(), RENDERINGS['helm template (defaults)']!()]) {
      const r = o.find((x) => x.kind === 'Deployment' && x.metadata.name.endsWith('-router'))!;
      const e = (
        r.spec as {
          template: { spec: { containers: Array<{ env: Array<{ name: string; value?: string }> }> } };
        }
      ).template.spec.containers[0]!.env;
      expect(e.find((x) => x.name === 'AGENTTIER_ALLOWED_HOSTS')?.value).toMatch(/-router\./);
    }
  });

  it('the Kata overlay sets kata; the base and Helm defaults set none', () => {
    expect(runtimeClassOf(RENDERINGS['kustomize overlays/kata']!())).toEqual(['kata', 'kata', 'kata']);
    expect(RENDERINGS['kustomize overlays/kata']!().find((o) => o.kind === 'RuntimeClass')).toMatchObject({
      handler: 'kata-qemu',
    });
    expect(runtimeClassOf(RENDERINGS['kustomize base']!())).toEqual([undefined, undefined, undefined]);
    expect(runtimeClassOf(RENDERINGS['helm template (defaults)']!())).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });

  it('helm and kustomize install the same CRDs (the committed, generated ones)', () => {
    const crds = (objects: Obj[]) =>
      objects
        .filter((o) => o.kind === 'CustomResourceDefinition')
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    expect(crds(RENDERINGS['helm template (defaults)']!())).toEqual(crds(RENDERINGS['kustomize base']!()));
    expect(crds(RENDERINGS['kustomize base']!())).toHaveLength(3);
  });
});
