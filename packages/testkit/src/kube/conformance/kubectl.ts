// The real kubectl against the server: client-side apply of a CRD and a custom resource, printer
// columns through server-side Table printing, server-side apply with conflicts, delete.
import { describe, expect, it } from 'vitest';
import {
  eventually,
  kubectl,
  kubectlBackground,
  rand,
  removeTemp,
  tempManifest,
  useCluster,
} from './helpers.ts';
import type { ConformanceOpts, Ctx, GetTarget } from './helpers.ts';

function crdYaml(group: string): string {
  return `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: gizmos.${group}
spec:
  group: ${group}
  scope: Namespaced
  names: { plural: gizmos, singular: gizmo, kind: Gizmo, shortNames: [gz] }
  versions:
  - name: v1
    served: true
    storage: true
    subresources: { status: {} }
    additionalPrinterColumns:
    - { name: Size, type: integer, jsonPath: .spec.size }
    - { name: Color, type: string, jsonPath: .spec.color }
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: { type: integer }
              color: { type: string, default: blue }
`;
}

function gizmoYaml(group: string, ns: string, size: number, color?: string): string {
  return `apiVersion: ${group}/v1
kind: Gizmo
metadata:
  name: g1
  namespace: ${ns}
spec:
  size: ${size}
${color ? `  color: ${color}\n` : ''}`;
}

async function ok(c: Ctx, args: string[]): Promise<string> {
  const r = await kubectl(c, args);
  expect(r.code, `kubectl ${args.join(' ')}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

async function applyFile(c: Ctx, content: string, extra: string[] = []) {
  const path = tempManifest(content);
  try {
    return await kubectl(c, ['apply', '-f', path, ...extra]);
  } finally {
    removeTemp(path);
  }
}

export function kubectlConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe.skipIf(opts.kubectl === false)('kubectl', () => {
    const ctx = useCluster(getTarget, opts);

    it('applies a CRD and a custom resource, then prints the CRD columns', async () => {
      const c = ctx();
      const group = `k${rand(8)}.conformance.agenttier.io`;
      try {
        const crd = await applyFile(c, crdYaml(group));
        expect(crd.code, crd.stderr).toBe(0);
        expect(crd.stdout).toContain(`customresourcedefinition.apiextensions.k8s.io/gizmos.${group} created`);
        await ok(c, ['wait', '--for=condition=Established', `crd/gizmos.${group}`, '--timeout=30s']);
        const created = await eventually(
          async () => {
            const r = await applyFile(c, gizmoYaml(group, c.ns, 3));
            return r.code === 0 ? r : undefined;
          },
          c.opts.eventuallyMs,
          'custom resource apply',
        );
        expect(created.stdout).toContain(`gizmo.${group}/g1 created`);

        const table = await ok(c, ['get', `gizmos.${group}`, '-n', c.ns]);
        const [header, row] = table.trim().split('\n');
        expect(header?.split(/\s+/)).toEqual(['NAME', 'SIZE', 'COLOR']);
        expect(row?.split(/\s+/)).toEqual(['g1', '3', 'blue']);

        const again = await applyFile(c, gizmoYaml(group, c.ns, 4, 'red'));
        expect(again.code, again.stderr).toBe(0);
        expect(again.stdout).toContain(`gizmo.${group}/g1 configured`);
        const size = await ok(c, [
          'get',
          `gizmos.${group}`,
          'g1',
          '-n',
          c.ns,
          '-o',
          'jsonpath={.spec.size}/{.spec.color}',
        ]);
        expect(size).toBe('4/red');

        const unchanged = await applyFile(c, gizmoYaml(group, c.ns, 4, 'red'));
        expect(unchanged.stdout).toContain(`gizmo.${group}/g1 unchanged`);

        const del = await ok(c, ['delete', `gizmos.${group}`, 'g1', '-n', c.ns]);
        expect(del).toContain(`gizmo.${group} "g1" deleted`);
      } finally {
        await kubectl(c, ['delete', 'crd', `gizmos.${group}`, '--wait=false']);
      }
    });

    it('server-side applies, reports conflicts, and takes fields over with --force-conflicts', async () => {
      const c = ctx();
      const cm = (value: string) => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ssa
  namespace: ${c.ns}
data:
  key: "${value}"
`;
      const first = await applyFile(c, cm('one'), ['--server-side']);
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toContain('configmap/ssa serverside-applied');
      const other = await applyFile(c, cm('two'), ['--server-side', '--field-manager=someone-else']);
      expect(other.code).not.toBe(0);
      expect(other.stderr).toContain('conflict');
      expect(other.stderr).toContain('.data.key');
      const forced = await applyFile(c, cm('two'), [
        '--server-side',
        '--field-manager=someone-else',
        '--force-conflicts',
      ]);
      expect(forced.code, forced.stderr).toBe(0);
      const managers = await ok(c, [
        'get',
        'configmap',
        'ssa',
        '-n',
        c.ns,
        '--show-managed-fields',
        '-o',
        'jsonpath={.metadata.managedFields[*].manager}',
      ]);
      expect(managers.split(' ')).toContain('someone-else');
      const value = await ok(c, ['get', 'configmap', 'ssa', '-n', c.ns, '-o', 'jsonpath={.data.key}']);
      expect(value).toBe('two');
    });

    it('rejects unknown fields in built-in manifests (server-side field validation)', async () => {
      const c = ctx();
      const typo = `apiVersion: apps/v1
kind: Deployment
metadata: { name: typo, namespace: ${c.ns} }
spec:
  selector: { matchLabels: { app: typo } }
  template:
    metadata: { labels: { app: typo } }
    spec:
      containers:
      - { name: c, image: busybox, imagePullPolicyy: Always }
`;
      const r = await applyFile(c, typo);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toContain(
        'Deployment in version "v1" cannot be handled as a Deployment: strict decoding error: unknown field "spec.template.spec.containers[0].imagePullPolicyy"',
      );
      const warned = await applyFile(c, typo, ['--validate=warn']);
      expect(warned.code, warned.stderr).toBe(0);
      expect(warned.stderr).toContain('unknown field "spec.template.spec.containers[0].imagePullPolicyy"');
    });

    it('streams watch events with get -w', async () => {
      const c = ctx();
      const w = kubectlBackground(c, [
        'get',
        'configmaps',
        '-n',
        c.ns,
        '-l',
        'kw=yes',
        '-w',
        '--output-watch-events',
      ]);
      try {
        const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: watched, namespace: ${c.ns}, labels: { kw: "yes" } }\n`;
        await eventually(
          async () => {
            const r = await applyFile(c, cm);
            return r.code === 0;
          },
          c.opts.eventuallyMs,
          'apply',
        );
        await eventually(() => /ADDED\s+watched/.test(w.output()), c.opts.eventuallyMs, 'ADDED line');
        await ok(c, ['delete', 'configmap', 'watched', '-n', c.ns]);
        await eventually(() => /DELETED\s+watched/.test(w.output()), c.opts.eventuallyMs, 'DELETED line');
      } finally {
        await w.stop();
      }
    });

    it('prints built-in kinds through server-side tables', async () => {
      const c = ctx();
      const applied = await applyFile(
        c,
        `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: printed, namespace: ${c.ns} }\ndata: { a: "1", b: "2" }\n`,
      );
      expect(applied.code, applied.stderr).toBe(0);
      const out = await ok(c, ['get', 'configmap', 'printed', '-n', c.ns]);
      const [header, row] = out.trim().split('\n');
      expect(header?.split(/\s+/)).toEqual(['NAME', 'DATA', 'AGE']);
      expect(row?.split(/\s+/).slice(0, 2)).toEqual(['printed', '2']);
      const ns = await ok(c, ['get', 'namespace', c.ns, '-o', 'name']);
      expect(ns.trim()).toBe(`namespace/${c.ns}`);
    });
  });
}
