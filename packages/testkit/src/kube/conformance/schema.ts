// openAPIV3Schema on custom resources: pruning, defaults, validation messages, structural CRDs.
import { describe, expect, it } from 'vitest';
import { apiError, createCrd, ids, rand, useCluster, useWidgetCrd, widget, widgetCrd } from './helpers.ts';
import type { ConformanceOpts, CrdBody, GetTarget } from './helpers.ts';

export function schemaConformance(getTarget: GetTarget, opts: ConformanceOpts): void {
  describe('custom resource schemas', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts);
    const create = (name: string, spec: Record<string, unknown>, fieldValidation?: string) =>
      ctx().custom.createNamespacedCustomObject({
        ...ids(crd(), ctx().ns),
        body: widget(crd(), name, spec),
        fieldValidation,
      });
    const kindName = () => `Widget.${crd().group}`;

    it('prunes unknown fields with a Warning header by default', async () => {
      const c = crd();
      const res = await ctx().custom.createNamespacedCustomObjectWithHttpInfo({
        ...ids(c, ctx().ns),
        body: widget(c, 'pruned', { size: 1, extra: true }),
      });
      expect(res.httpStatusCode).toBe(201);
      expect(res.data.spec).toEqual({ size: 1, mode: 'slow' });
      expect(res.headers.warning).toContain('299 - "unknown field \\"spec.extra\\""');
    });

    it('rejects unknown fields with fieldValidation=Strict (400)', async () => {
      const s = await apiError(create('strict', { size: 1, extra: true }, 'Strict'), 400);
      expect(s.reason).toBe('BadRequest');
      expect(s.message).toBe(
        'Widget in version "v1" cannot be handled as a Widget: strict decoding error: unknown field "spec.extra"',
      );
    });

    it('keeps x-kubernetes-preserve-unknown-fields subtrees and applies defaults', async () => {
      const w = await create('kept', { size: 2, config: { anything: { nested: [1, 2] } } });
      expect(w.spec.config).toEqual({ anything: { nested: [1, 2] } });
      expect(w.spec.mode).toBe('slow');
    });

    it('reports a minimum violation as FieldValueInvalid', async () => {
      const s = await apiError(create('small', { size: 0 }), 422);
      expect(s.reason).toBe('Invalid');
      expect(s.message).toBe(
        `${kindName()} "small" is invalid: spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1`,
      );
      expect(s.details).toMatchObject({ name: 'small', group: crd().group, kind: 'Widget' });
      expect(s.details?.causes).toEqual([
        {
          reason: 'FieldValueInvalid',
          message: 'Invalid value: 0: spec.size in body should be greater than or equal to 1',
          field: 'spec.size',
        },
      ]);
    });

    it('reports an enum violation as Unsupported value', async () => {
      const s = await apiError(create('medium', { size: 1, mode: 'medium' }), 422);
      expect(s.details?.causes).toEqual([
        {
          reason: 'FieldValueNotSupported',
          message: 'Unsupported value: "medium": supported values: "fast", "slow"',
          field: 'spec.mode',
        },
      ]);
    });

    it('reports a missing required field as Required value', async () => {
      const s = await apiError(create('empty', {}), 422);
      expect(s.message).toBe(`${kindName()} "empty" is invalid: spec.size: Required value`);
      expect(s.details?.causes).toEqual([
        { reason: 'FieldValueRequired', message: 'Required value', field: 'spec.size' },
      ]);
    });

    it('reports a type mismatch and a pattern mismatch', async () => {
      const s = await apiError(create('typed', { size: 'big', name: 'UPPER' }), 422);
      const causes = s.details?.causes ?? [];
      expect(causes).toEqual(
        expect.arrayContaining([
          {
            reason: 'FieldValueTypeInvalid',
            message: 'Invalid value: "string": spec.size in body must be of type integer: "string"',
            field: 'spec.size',
          },
          {
            reason: 'FieldValueInvalid',
            message: `Invalid value: "UPPER": spec.name in body should match '^[a-z]+$'`,
            field: 'spec.name',
          },
        ]),
      );
      expect(causes).toHaveLength(2);
      expect(s.message).toMatch(
        new RegExp(`^${kindName().replace(/\./g, '\\.')} "typed" is invalid: \\[.*, .*\\]$`),
      );
    });

    it('rejects duplicates in x-kubernetes-list-type set and map lists', async () => {
      const s = await apiError(
        create('dups', {
          size: 1,
          tags: ['a', 'b', 'a'],
          ports: [
            { name: 'x', port: 1 },
            { name: 'x', port: 2 },
          ],
        }),
        422,
      );
      const fields = (s.details?.causes ?? []).map((c) => `${c.reason} ${c.field}`);
      expect(fields).toEqual(
        expect.arrayContaining(['FieldValueDuplicate spec.tags[2]', 'FieldValueDuplicate spec.ports[1]']),
      );
      expect(s.details?.causes?.find((c) => c.field === 'spec.tags[2]')?.message).toBe(
        'Duplicate value: "a"',
      );
    });

    it('refuses a CRD whose schema is not structural (422)', async () => {
      const group = `c${rand(8)}.conformance.agenttier.io`;
      const bad = widgetCrd(group, { plural: 'gadgets', kind: 'Gadget' });
      const version = bad.spec.versions[0];
      if (version)
        version.schema = {
          openAPIV3Schema: {
            type: 'object',
            properties: { spec: { properties: { size: { type: 'integer' } } } },
          },
        };
      const ext = ctx().ext;
      const s = await apiError(createCrd(ctx().custom, bad), 422);
      expect(s.message).toContain(
        'spec.validation.openAPIV3Schema.properties[spec].type: Required value: must not be empty for specified object fields',
      );
      await ext.deleteCustomResourceDefinition({ name: `gadgets.${group}` }).catch(() => undefined);
    });

    it('validates the CRD name against plural and group (422)', async () => {
      const group = `c${rand(8)}.conformance.agenttier.io`;
      const bad: CrdBody = { ...widgetCrd(group), metadata: { name: `wrong.${group}` } };
      const s = await apiError(createCrd(ctx().custom, bad), 422);
      expect(s.message).toContain(
        `metadata.name: Invalid value: "wrong.${group}": must be spec.names.plural+"."+spec.group`,
      );
    });
  });

  describe('cluster-scoped custom resources', () => {
    const ctx = useCluster(getTarget, opts);
    const crd = useWidgetCrd(getTarget, opts, { scope: 'Cluster' });

    it('serves them without a namespace', async () => {
      const c = crd();
      const name = `cw-${ctx().ns}`;
      const created = await ctx().custom.createClusterCustomObject({
        group: c.group,
        version: c.version,
        plural: c.plural,
        body: widget(c, name, { size: 1 }),
      });
      expect(created.metadata.namespace).toBeUndefined();
      const got = await ctx().custom.getClusterCustomObject({
        group: c.group,
        version: c.version,
        plural: c.plural,
        name,
      });
      expect(got.spec).toEqual({ size: 1, mode: 'slow' });
      await ctx().custom.deleteClusterCustomObject({
        group: c.group,
        version: c.version,
        plural: c.plural,
        name,
      });
    });
  });
}
