import { API_VERSION, nameSchema, templateSpecSchema, toFieldIssues } from '@agenttier/contract';
import type { TemplateSpec } from '@agenttier/sdk';
import { parseAllDocuments } from 'yaml';
import { CliError, EXIT } from '../../errors.ts';

export type TemplateKind = 'ClusterSandboxTemplate' | 'SandboxTemplate';

export interface TemplateDocument {
  name: string;
  kind: TemplateKind;
  namespace?: string;
  spec: TemplateSpec;
  /** Where it came from, for messages: "document 2". */
  origin: string;
}

const KINDS: readonly string[] = ['ClusterSandboxTemplate', 'SandboxTemplate'];

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads templates from YAML or JSON text: one or many `---` documents, a JSON array, or a
 * `kind: List` with `items`. Each item is a manifest (`kind`, `metadata.name`, `spec`) or the API's
 * flat shape (`name`, `spec`, as `template get -o yaml` prints it). Every problem in the file is
 * reported at once; nothing is returned unless the whole file is valid.
 */
export function parseTemplateDocuments(
  text: string,
  opts: { file: string; defaultNamespace?: string },
): TemplateDocument[] {
  const problems: string[] = [];
  const items: { value: unknown; origin: string }[] = [];
  const docs = parseAllDocuments(text, { prettyErrors: true });
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((doc, i) => {
    const origin = `document ${i + 1}`;
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push(`${origin}: ${e.message.split('\n')[0]}`);
      return;
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) return;
    const flatten = (v: unknown, where: string) => {
      if (Array.isArray(v)) v.forEach((item, j) => flatten(item, `${where}, item ${j + 1}`));
      else if (isObject(v) && v.kind === 'List' && Array.isArray(v.items)) flatten(v.items, where);
      else items.push({ value: v, origin: where });
    };
    flatten(value, origin);
  });

  const out: TemplateDocument[] = [];
  for (const { value, origin } of items) {
    if (!isObject(value)) {
      problems.push(`${origin}: expected an object with a name and a spec`);
      continue;
    }
    const meta = isObject(value.metadata) ? value.metadata : {};
    const name = meta.name ?? value.name;
    const label = typeof name === 'string' ? `${origin} (${name})` : origin;
    const kind = value.kind ?? 'ClusterSandboxTemplate';
    if (typeof kind !== 'string' || !KINDS.includes(kind)) {
      problems.push(
        `${label}: kind ${String(kind)} is not a template; use ClusterSandboxTemplate or SandboxTemplate`,
      );
      continue;
    }
    if (value.apiVersion !== undefined && value.apiVersion !== API_VERSION) {
      problems.push(`${label}: apiVersion must be ${API_VERSION}, got ${String(value.apiVersion)}`);
    }
    const nameCheck = nameSchema.safeParse(name);
    if (!nameCheck.success) {
      problems.push(`${label}: name ${nameCheck.error.issues[0]?.message ?? 'is invalid'}`);
    }
    if (!isObject(value.spec)) {
      problems.push(`${label}: spec is required`);
      continue;
    }
    const specCheck = templateSpecSchema.safeParse(value.spec);
    if (!specCheck.success) {
      for (const issue of toFieldIssues(specCheck.error, 'spec'))
        problems.push(`${label}: ${issue.field} ${issue.message}`);
    }
    if (!nameCheck.success || !specCheck.success) continue;
    const namespace =
      meta.namespace ?? value.namespace ?? (kind === 'SandboxTemplate' ? opts.defaultNamespace : undefined);
    out.push({
      name: nameCheck.data,
      kind: kind as TemplateKind,
      ...(kind === 'SandboxTemplate'
        ? { namespace: typeof namespace === 'string' ? namespace : 'default' }
        : {}),
      spec: value.spec as TemplateSpec,
      origin,
    });
  }
  if (problems.length > 0) {
    throw new CliError(
      `${opts.file} is not a valid template file:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
      EXIT.VALIDATION,
      'See docs/cli.md ("template apply") for the file format',
    );
  }
  if (out.length === 0) {
    throw new CliError(
      `${opts.file} contains no templates`,
      EXIT.VALIDATION,
      'Add a document with kind, metadata.name and spec',
    );
  }
  return out;
}
