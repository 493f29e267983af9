import { describe, expect, it } from 'vitest';
import { anchorIssues, parseTemplateYaml, STARTER_YAML, templateToYaml } from './yaml-doc.ts';

const TEXT = `name: py
spec:
  description: Python
  resources:
    limits:
      cpu: lots
      memory: 1Gi
  env:
    - name: A
      value: "1"
    - name: bad name
      value: "2"
`;

describe('template YAML', () => {
  it('round-trips a template through YAML', () => {
    const text = templateToYaml({
      name: 'py',
      kind: 'ClusterSandboxTemplate',
      spec: { description: 'x', timeout: '8h' },
    });
    const parsed = parseTemplateYaml(text);
    expect(parsed).toEqual({ ok: true, body: { name: 'py', spec: { description: 'x', timeout: '8h' } } });
    expect(parseTemplateYaml(STARTER_YAML).ok).toBe(true);
  });

  it('anchors server field issues on the offending line', () => {
    const [cpu, env, unknown, missing] = anchorIssues(TEXT, [
      { field: 'spec.resources.limits.cpu', rule: 'cpu', message: 'must be a CPU quantity' },
      { field: 'spec.env.1.name', rule: 'regex', message: 'must be an environment variable name' },
      { field: 'spec.description', rule: 'unknown', message: 'is not a known field' },
      { field: 'spec.storage.size', rule: 'required', message: 'is required' },
    ]);
    expect(cpu).toMatchObject({ line: 6, message: 'spec.resources.limits.cpu: must be a CPU quantity' });
    expect(TEXT.slice(cpu!.from, cpu!.to)).toBe('cpu: lots');
    expect(env!.line).toBe(11);
    expect(unknown!.line).toBe(3);
    // A field that is not in the text points at its deepest existing parent.
    expect(missing!.line).toBe(2);
  });

  it('reports YAML syntax errors with their line', () => {
    const parsed = parseTemplateYaml('name: x\nspec:\n  a: [1, 2\n  b: 3\n');
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.problems[0]!.line).toBeGreaterThanOrEqual(3);
  });

  it('refuses a document without name or spec', () => {
    expect(parseTemplateYaml('- a\n- b\n')).toMatchObject({ ok: false });
    expect(parseTemplateYaml('spec: {}\n')).toMatchObject({
      ok: false,
      problems: [{ message: 'name: is required' }],
    });
    expect(parseTemplateYaml('name: x\nspec: 3\n')).toMatchObject({
      ok: false,
      problems: [{ line: 2, message: 'spec: must be a mapping' }],
    });
  });
});
