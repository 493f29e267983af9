import { describe, expect, it } from 'vitest';
import { estimateRuleCost, validateCelCost } from './cel-cost.ts';

const envName = {
  type: 'string',
  maxLength: 256,
  'x-kubernetes-validations': [{ rule: "self.matches('^[A-Za-z_][A-Za-z0-9_]*$')" }],
};

describe('CEL cost estimation of CRD rules', () => {
  it('prices a regex rule as the real server does: ⌈0.1·4·maxLength⌉·⌈0.25·regex⌉ + self', () => {
    // 1.26 and 1.32 report this rule on an unbounded list as 64.9x the budget: 619 × 1,048,576.
    expect(estimateRuleCost("self.matches('^[A-Za-z_][A-Za-z0-9_]*$')", envName)).toBe(619);
  });

  it('multiplies by the cardinality of enclosing lists: maxItems, else what a 3 MiB request holds', () => {
    const schema = (maxItems?: number) => ({
      type: 'object',
      properties: { env: { type: 'array', ...(maxItems ? { maxItems } : {}), items: envName } },
    });
    expect(validateCelCost(schema(64), 'p')).toEqual([]);
    const errs = validateCelCost(schema(), 'p');
    expect(errs.map((e) => [e.field, e.detail?.split(' (try')[0]])).toEqual([
      [
        'p.properties[env].items.x-kubernetes-validations[0].rule',
        'estimated rule cost exceeds budget by factor of 64.9x',
      ],
      [
        'p.properties[env].items.x-kubernetes-validations[0].rule',
        'contributed to estimated rule cost total exceeding cost limit for entire OpenAPIv3 schema',
      ],
      [
        'p',
        'x-kubernetes-validations estimated rule cost total for entire OpenAPIv3 schema exceeds budget by factor of 6.5x',
      ],
    ]);
  });

  it('prices macros over a list by its size, and says "more than 100x" past a hundredfold', () => {
    const names = { type: 'array', items: { type: 'string' } };
    const errs = validateCelCost(
      {
        type: 'object',
        properties: {
          names: { ...names, 'x-kubernetes-validations': [{ rule: "self.all(n, n.matches('^a+$'))" }] },
        },
      },
      'p',
    );
    expect(errs[0]?.detail).toContain('exceeds budget by factor of more than 100x');
  });
});
