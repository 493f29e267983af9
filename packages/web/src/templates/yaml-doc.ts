import type { FieldIssue } from '@agenttier/contract';
import type { TemplateView } from '@agenttier/sdk';
import { isMap, isSeq, LineCounter, parseDocument, stringify } from 'yaml';

/** A problem anchored to a span of the YAML text (character offsets) and its 1-based line. */
export interface YamlProblem {
  from: number;
  to: number;
  line: number;
  message: string;
}

/** The editable YAML of a template: the body of `PUT /api/v1/templates/{name}` (name, kind, spec). */
export function templateToYaml(t: Pick<TemplateView, 'name' | 'kind' | 'namespace' | 'spec'>): string {
  return stringify({
    name: t.name,
    ...(t.kind === 'SandboxTemplate' ? { kind: t.kind, namespace: t.namespace } : {}),
    spec: t.spec,
  });
}

export const STARTER_YAML = `# A new template. Fields: docs/api.md#templates
name: my-template
spec:
  description: Python 3 with a persistent workspace
  mode: code
  image:
    repository: agenttier/general-coding:latest
  resources:
    limits:
      cpu: "1"
      memory: 1Gi
  storage:
    size: 2Gi
  network:
    allowInternet: false
  timeout: 8h
  idleTimeout: 30m
`;

/** The template write body the YAML stands for. */
export interface TemplateBody {
  name: string;
  kind?: string;
  namespace?: string;
  spec: Record<string, unknown>;
}

export type ParsedTemplate = { ok: true; body: TemplateBody } | { ok: false; problems: YamlProblem[] };

/** Parses the editor's text; YAML syntax errors and a wrong overall shape come back anchored. */
export function parseTemplateYaml(text: string): ParsedTemplate {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  if (doc.errors.length > 0)
    return {
      ok: false,
      problems: doc.errors.map((e) => {
        const [from, to] = e.pos;
        return {
          from,
          to: Math.max(to, from + 1),
          line: lc.linePos(from).line,
          message: e.message.split('\n')[0]!,
        };
      }),
    };
  const value = doc.toJS() as unknown;
  const whole = { from: 0, to: Math.min(text.length, 1), line: 1 };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    return {
      ok: false,
      problems: [{ ...whole, message: 'the document must be a mapping with name and spec' }],
    };
  const v = value as Record<string, unknown>;
  if (typeof v.name !== 'string' || v.name === '')
    return { ok: false, problems: [{ ...whole, message: 'name: is required' }] };
  if (typeof v.spec !== 'object' || v.spec === null || Array.isArray(v.spec))
    return { ok: false, problems: [{ ...locate(text, 'spec'), message: 'spec: must be a mapping' }] };
  return { ok: true, body: v as unknown as TemplateBody };
}

/**
 * Anchors the server's field issues (`spec.resources.limits.cpu`, `spec.env.0.name`) on the YAML
 * text: the deepest node of the path that exists there, so an unknown field points at itself and a
 * missing one at its parent.
 */
export function anchorIssues(text: string, issues: readonly FieldIssue[]): YamlProblem[] {
  return issues.map((i) => ({ ...locate(text, i.field), message: `${i.field}: ${i.message}` }));
}

function locate(text: string, dotted: string): { from: number; to: number; line: number } {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc });
  const path = dotted === '(body)' ? [] : dotted.split('.').map((p) => (/^\d+$/.test(p) ? Number(p) : p));
  let best: { from: number; to: number } = { from: 0, to: Math.min(text.length, 1) };
  let node: unknown = doc.contents;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((it) => (it.key as { value?: unknown } | null)?.value === part);
      if (!pair) break;
      const key = pair.key as { range?: [number, number, number] } | null;
      const val = pair.value as { range?: [number, number, number] } | null;
      // Anchor on the key's line: the value of a nested block starts on the next line.
      const start = key?.range?.[0] ?? best.from;
      const end =
        val && !isMap(val) && !isSeq(val) ? (val.range?.[1] ?? start + 1) : (key?.range?.[1] ?? start + 1);
      best = { from: start, to: Math.max(end, start + 1) };
      node = pair.value;
    } else if (isSeq(node) && typeof part === 'number') {
      const item = node.items[part] as { range?: [number, number, number] } | undefined;
      if (!item?.range) break;
      best = { from: item.range[0], to: Math.max(item.range[1], item.range[0] + 1) };
      node = item;
    } else break;
  }
  return { ...best, line: lc.linePos(best.from).line };
}
