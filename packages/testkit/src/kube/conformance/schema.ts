// openAPIV3Schema on custom resources: pruning, defaults, validation messages, structural CRDs.
import { describe, expect, it } from 'vitest';
import {
  apiError,
  createCrd,
  eventually,
  ids,
  rand,
  raw,
  serverMinor,
  useCluster,
  useWidgetCrd,
  widget,
  widgetCrd,
} from './helpers.ts';
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

    it('evaluates x-kubernetes-validations (CEL) after the OpenAPI checks, reporting both', async () => {
      const group = `c${rand(8)}.conformance.agenttier.io`;
      const body = widgetCrd(group, { plural: 'rules', kind: 'Rule' });
      type Node = Record<string, unknown> & { properties: Record<string, Node> };
      const schema = (body.spec.versions[0]?.schema as { openAPIV3Schema: Node }).openAPIV3Schema;
      const spec = schema.properties.spec as Node;
      (spec.properties.name as Node)['x-kubernetes-validations'] = [
        { rule: "self.startsWith('w')", message: 'name must start with w' },
      ];
      spec['x-kubernetes-validations'] = [{ rule: 'self.size <= 5', message: 'size must be at most 5' }];
      schema['x-kubernetes-validations'] = [
        { rule: 'size(self.metadata.name) <= 8', message: 'at most 8 characters' },
      ];
      await createCrd(ctx().custom, body);
      try {
        const target = { group, version: 'v1', namespace: ctx().ns, plural: 'rules' };
        const rule = (name: string, s: Record<string, unknown>) => ({
          apiVersion: `${group}/v1`,
          kind: 'Rule',
          metadata: { name },
          spec: s,
        });
        await eventually(
          () =>
            ctx().custom.createNamespacedCustomObject({
              ...target,
              body: rule('ok', { size: 3, name: 'wx' }),
            }),
          ctx().opts.eventuallyMs,
          'the CRD to serve',
        );
        const s = await apiError(
          ctx().custom.createNamespacedCustomObject({
            ...target,
            body: rule('much-too-long', { size: 7, name: 'Ab' }),
          }),
          422,
        );
        expect(s.message).toBe(
          `Rule.${group} "much-too-long" is invalid: [spec.name: Invalid value: "Ab": spec.name in body should match '^[a-z]+$', ` +
            `<nil>: Invalid value: "object": at most 8 characters, spec: Invalid value: "object": size must be at most 5, ` +
            `spec.name: Invalid value: "string": name must start with w]`,
        );
      } finally {
        await ctx()
          .ext.deleteCustomResourceDefinition({ name: `rules.${group}` })
          .catch(() => undefined);
      }
    });

    it('refuses a CRD whose rule is estimated over the cost budget (a list without maxItems), accepts it bounded', async () => {
      const c = ctx();
      const group = `c${rand(8)}.conformance.agenttier.io`;
      const withNames = (bounded: boolean) => {
        const body = widgetCrd(group, { plural: 'costs', kind: 'Cost' });
        type Node = Record<string, unknown> & { properties: Record<string, Node> };
        const schema = (body.spec.versions[0]?.schema as { openAPIV3Schema: Node }).openAPIV3Schema;
        // The shape of AgentTier's env names before 1.26 refused them: 256 characters, a regex rule.
        (schema.properties.spec as Node).properties.envNames = {
          type: 'array',
          ...(bounded ? { maxItems: 64 } : {}),
          items: {
            type: 'string',
            maxLength: 256,
            'x-kubernetes-validations': [
              { rule: "self.matches('^[A-Za-z_][A-Za-z0-9_]*$')", message: 'must be a valid name' },
            ],
          },
        } as unknown as Node;
        return body;
      };
      const s = await apiError(createCrd(c.custom, withNames(false)), 422);
      const hint =
        '(try simplifying the rule, or adding maxItems, maxProperties, and maxLength where arrays, maps, and strings are declared)';
      expect(s.message).toBe(
        `CustomResourceDefinition.apiextensions.k8s.io "costs.${group}" is invalid: [` +
          `spec.validation.openAPIV3Schema.properties[spec].properties[envNames].items.x-kubernetes-validations[0].rule: ` +
          `Forbidden: estimated rule cost exceeds budget by factor of 64.9x ${hint}, ` +
          `spec.validation.openAPIV3Schema.properties[spec].properties[envNames].items.x-kubernetes-validations[0].rule: ` +
          `Forbidden: contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema, ` +
          `spec.validation.openAPIV3Schema: Forbidden: x-kubernetes-validations estimated rule cost total for entire ` +
          `OpenAPIv3 schema exceeds budget by factor of 6.5x ${hint}]`,
      );
      try {
        await createCrd(c.custom, withNames(true));
      } finally {
        await c.ext.deleteCustomResourceDefinition({ name: `costs.${group}` }).catch(() => undefined);
      }
    });

    it('refuses a validation rule fieldPath before 1.28 (server-side apply: not declared) and stores it from 1.28', async () => {
      const c = ctx();
      const group = `c${rand(8)}.conformance.agenttier.io`;
      const body = widgetCrd(group, { plural: 'paths', kind: 'Path' });
      const schema = (body.spec.versions[0]?.schema as { openAPIV3Schema: Record<string, unknown> })
        .openAPIV3Schema;
      schema['x-kubernetes-validations'] = [
        { rule: 'size(self.metadata.name) <= 8', message: 'too long', fieldPath: '.spec' },
      ];
      const res = await raw(
        c.kc,
        'PATCH',
        `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/paths.${group}?fieldManager=conformance`,
        JSON.stringify(body),
        { 'Content-Type': 'application/apply-patch+yaml' },
      );
      try {
        if ((await serverMinor(c.kc)) >= 28) {
          expect(res.status).toBe(201);
        } else {
          expect(res.status).toBe(500);
          expect(JSON.parse(res.body).message).toBe(
            `failed to create typed patch object (/paths.${group}; apiextensions.k8s.io/v1, Kind=CustomResourceDefinition): ` +
              `.spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[rule="size(self.metadata.name) <= 8"].fieldPath: field not declared in schema`,
          );
        }
      } finally {
        await c.ext.deleteCustomResourceDefinition({ name: `paths.${group}` }).catch(() => undefined);
      }
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
