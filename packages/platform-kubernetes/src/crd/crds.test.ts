import { evaluate } from '@marcbachmann/cel-js';
import { describe, expect, it } from 'vitest';
import { durationSchema, nameSchema, sandboxSpecSchema } from '@agenttier/contract';
import type { CelRule, JsonSchema } from './crd-schema.ts';
import { BYTES_PATTERN, CPU_PATTERN, DURATION_PATTERN, untypedNodes, zodToCrdSchema } from './crd-schema.ts';
import { buildCrd, buildCrds } from './crds.ts';

type Crd = {
  spec: {
    versions: Array<{
      schema: { openAPIV3Schema: JsonSchema };
      subresources?: unknown;
      additionalPrinterColumns: Array<{ name: string; priority?: number }>;
    }>;
    names: { shortNames: string[]; categories: string[] };
    scope: string;
  };
};

const schemaOf = (crd: unknown) => (crd as Crd).spec.versions[0]!.schema.openAPIV3Schema;
const at = (schema: JsonSchema, path: string[]): JsonSchema =>
  path.reduce((s, k) => {
    const obj = s.type === 'array' ? (s.items as JsonSchema) : s;
    return (obj.properties as Record<string, JsonSchema>)[k]!;
  }, schema);

function celHolds(rule: CelRule, value: unknown): boolean {
  return evaluate(rule.rule, { self: value }) === true;
}

describe('CRDs generated from the contract', () => {
  it('are structural: every node has a type and no additionalProperties sits next to properties', () => {
    for (const crd of buildCrds()) {
      const root = schemaOf(crd);
      expect(untypedNodes(root)).toEqual([]);
      const walk = (s: JsonSchema) => {
        expect(s.properties && s.additionalProperties !== undefined).toBeFalsy();
        for (const v of Object.values((s.properties as Record<string, JsonSchema>) ?? {})) walk(v);
        if (s.items) walk(s.items as JsonSchema);
      };
      walk(root);
    }
  });

  it('fit 1.26: no validation-rule fieldPath, and every list whose items carry CEL rules is bounded', () => {
    // The fake API server does not estimate CEL cost; a real 1.26 refuses a rule under an unbounded
    // list (estimated ~65x over budget) and a rule with fieldPath (added in 1.28).
    const hasRules = (n: unknown): boolean =>
      !!n &&
      typeof n === 'object' &&
      ('x-kubernetes-validations' in n || Object.values(n as object).some(hasRules));
    const unbounded: string[] = [];
    const walk = (n: JsonSchema, path: string) => {
      if (n.type === 'array' && n.maxItems === undefined && hasRules(n.items)) unbounded.push(path);
      for (const [k, v] of Object.entries((n.properties as Record<string, JsonSchema>) ?? {}))
        walk(v, `${path}.${k}`);
      if (n.items) walk(n.items as JsonSchema, `${path}[]`);
      if (n.additionalProperties && typeof n.additionalProperties === 'object')
        walk(n.additionalProperties as JsonSchema, `${path}{}`);
    };
    for (const crd of buildCrds()) {
      walk(schemaOf(crd), (crd as { metadata: { name: string } }).metadata.name);
      expect(JSON.stringify(crd)).not.toContain('"fieldPath"');
    }
    expect(unbounded).toEqual([]);
  });

  it('have the names, scopes, status subresource and printer columns kubectl shows', () => {
    const sb = buildCrd('Sandbox') as unknown as Crd;
    expect(sb.spec.names.shortNames).toEqual(['sb', 'sbx']);
    expect(sb.spec.names.categories).toEqual(['agenttier']);
    expect(sb.spec.scope).toBe('Namespaced');
    expect(sb.spec.versions[0]!.subresources).toEqual({ status: {} });
    const cols = sb.spec.versions[0]!.additionalPrinterColumns;
    expect(cols.filter((c) => !c.priority).map((c) => c.name)).toEqual(['Status', 'Template', 'Mode', 'Age']);
    expect(cols.some((c) => c.priority === 1)).toBe(true);
    expect((buildCrd('ClusterSandboxTemplate') as unknown as Crd).spec.scope).toBe('Cluster');
    expect((buildCrd('SandboxTemplate') as unknown as Crd).spec.versions[0]!.subresources).toBeUndefined();
  });

  it('carry enums, required fields, defaults and patterns from zod', () => {
    const spec = at(schemaOf(buildCrd('Sandbox')), ['spec']);
    expect(spec.required).toEqual(['templateRef']);
    expect(at(spec, ['mode']).enum).toEqual(['code', 'agent']);
    expect(at(spec, ['desiredState']).enum).toEqual(['Running', 'Stopped']);
    expect(at(spec, ['env', 'value']).default).toBe('');
    expect(at(spec, ['templateRef', 'name']).pattern).toBe('^[a-z0-9]([-a-z0-9]*[a-z0-9])?$');
    expect(at(spec, ['timeout']).pattern).toBe(DURATION_PATTERN);
    expect(at(spec, ['resources', 'limits', 'cpu']).pattern).toBe(CPU_PATTERN);
    expect(at(spec, ['storage', 'size']).pattern).toBe(BYTES_PATTERN);
  });

  it('carry the contract messages as CEL rules that agree with zod on good and bad values', () => {
    const spec = zodToCrdSchema(sandboxSpecSchema);
    const cases: Array<{
      path: string[];
      schema: { safeParse(v: unknown): { success: boolean } };
      values: string[];
    }> = [
      {
        path: ['timeout'],
        schema: durationSchema,
        values: ['30s', '1h30m', '0', '500ms', '8h0m0s', '1d', '-5s', 'soon', ''],
      },
      {
        path: ['templateRef', 'name'],
        schema: nameSchema,
        values: ['ok-name', 'Bad', '-x', 'a'.repeat(54), ''],
      },
    ];
    for (const c of cases) {
      const node = at(spec, c.path);
      const rules = node['x-kubernetes-validations'] as CelRule[];
      expect(rules.length).toBeGreaterThan(0);
      for (const v of c.values) {
        const zodOk = c.schema.safeParse(v).success;
        const celOk = rules.every((r) => celHolds(r, v));
        // What a CEL-less server (our fake) enforces: pattern plus length keywords.
        const max = (node.maxLength as number | undefined) ?? Infinity;
        const min = (node.minLength as number | undefined) ?? 0;
        const keywordsOk = new RegExp(node.pattern as string).test(v) && v.length <= max && v.length >= min;
        expect({ v, celOk, keywordsOk }).toEqual({ v, celOk: zodOk, keywordsOk: zodOk });
      }
    }
  });
});
