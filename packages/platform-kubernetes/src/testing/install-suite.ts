// `agenttier install --apply` against an API server, checked by what the server stored and enforces
// rather than by what the client sent: run against the fake (every `vitest run`) and against real
// kube-apiservers (scripts/kube.sh). A client that drops schema keys, or a CRD an old release refuses,
// fails here.
import { request } from 'node:https';
import type { RequestOptions } from 'node:https';
import { randomBytes } from 'node:crypto';
import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCrd, CRD_KINDS } from '../crd/crds.ts';
import { applyInstallManifests } from '../install/apply.ts';
import { renderInstallManifests } from '../install/install-manifests.ts';

export interface InstallTarget {
  kubeConfig: KubeConfig;
  close?: () => Promise<void>;
}

/** GET of a path as raw JSON (client-node's typed models would drop the very keys under test). */
async function getJson(kc: KubeConfig, path: string): Promise<Record<string, unknown>> {
  const server = kc.getCurrentCluster()?.server ?? '';
  const opts: RequestOptions = {};
  await kc.applyToHTTPSOptions(opts);
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, server), { ...opts, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString('utf8')));
      res.on('end', () =>
        res.statusCode === 200
          ? resolve(JSON.parse(body) as Record<string, unknown>)
          : reject(new Error(`GET ${path}: ${res.statusCode} ${body}`)),
      );
    });
    req.on('error', reject);
    req.end();
  });
}

/** Every value of `key` anywhere under `node`. */
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const v of node) collect(v, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node)) {
      if (k === key) out.push(v);
      collect(v, key, out);
    }
  }
  return out;
}

interface StatusBody {
  code?: number;
  reason?: string;
  message?: string;
}

async function rejection(p: Promise<unknown>): Promise<StatusBody> {
  try {
    await p;
  } catch (e) {
    const body = (e as { body?: unknown }).body;
    return (typeof body === 'string' ? JSON.parse(body) : body) as StatusBody;
  }
  throw new Error('expected the API server to refuse the object, but it was stored');
}

export function installSuite(getTarget: () => Promise<InstallTarget>): void {
  describe('agenttier install --apply', () => {
    let target: InstallTarget;
    let namespace: string;
    beforeAll(async () => {
      target = await getTarget();
      namespace = `agenttier-install-${randomBytes(3).toString('hex')}`;
      const objects = renderInstallManifests({ namespace }) as unknown as KubernetesObject[];
      // force: on a shared test server other suites (the Helm manifests) own the cluster roles too.
      await applyInstallManifests(objects, { kubeConfig: target.kubeConfig, force: true });
    });
    afterAll(async () => {
      if (!target) return;
      await target.kubeConfig
        .makeApiClient(CoreV1Api)
        .deleteNamespace({ name: namespace })
        .catch(() => undefined);
      await target.close?.();
    });

    it('stores every CRD schema as generated: CEL rules, enums, patterns and bounds intact', async () => {
      for (const kind of CRD_KINDS) {
        const want = buildCrd(kind) as { metadata: { name: string }; spec: { versions: unknown[] } };
        const stored = await getJson(
          target.kubeConfig,
          `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${want.metadata.name}`,
        );
        const schemaOf = (crd: unknown) =>
          (crd as { spec: { versions: Array<{ schema: unknown }> } }).spec.versions[0]?.schema;
        expect(collect(schemaOf(stored), 'x-kubernetes-validations').flat().length).toBe(
          collect(schemaOf(want), 'x-kubernetes-validations').flat().length,
        );
        expect(collect(schemaOf(stored), 'enum').length).toBe(collect(schemaOf(want), 'enum').length);
        expect(schemaOf(stored)).toEqual(schemaOf(want));
      }
    });

    it('enforces the schema: enums, and the CEL rules with the contract messages', async () => {
      const co = target.kubeConfig.makeApiClient(CustomObjectsApi);
      const ids = { group: 'agenttier.io', version: 'v1alpha1', namespace };
      const sandbox = (name: string, spec: Record<string, unknown>) => ({
        ...ids,
        plural: 'sandboxes',
        body: { apiVersion: 'agenttier.io/v1alpha1', kind: 'Sandbox', metadata: { name }, spec },
      });
      const paused = await rejection(
        co.createNamespacedCustomObject(
          sandbox('paused', { templateRef: { name: 't' }, desiredState: 'Paused' }),
        ),
      );
      expect(paused.code).toBe(422);
      expect(paused.message).toContain('spec.desiredState: Unsupported value: "Paused"');

      const longName = await rejection(
        co.createNamespacedCustomObject(sandbox('a'.repeat(60), { templateRef: { name: 't' } })),
      );
      expect(longName.code).toBe(422);
      expect(longName.message).toContain('<nil>: Invalid value: "object": must be at most 53 characters');

      const template = await rejection(
        co.createNamespacedCustomObject({
          ...ids,
          plural: 'sandboxtemplates',
          body: {
            apiVersion: 'agenttier.io/v1alpha1',
            kind: 'SandboxTemplate',
            metadata: { name: 'bad-env' },
            spec: { image: { repository: 'x' }, harness: { agent: { env: [{ name: '1BAD' }] } } },
          },
        }),
      );
      expect(template.code).toBe(422);
      expect(template.message).toContain(
        'spec.harness.agent.env[0].name: Invalid value: "string": must be a valid environment variable name',
      );
    });
  });
}
