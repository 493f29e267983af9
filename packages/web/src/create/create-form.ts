import type { FieldIssue } from '@agenttier/contract';
import { createSandboxRequestSchema, toFieldIssues } from '@agenttier/contract';

/** The create form's fields, as typed (empty = the template's default). */
export interface CreateForm {
  name: string;
  namespace: string;
  template: string;
  timeout: string;
  idleTimeout: string;
  storageSize: string;
  cpu: string;
  memory: string;
}

export const EMPTY_FORM: CreateForm = {
  name: '',
  namespace: 'default',
  template: '',
  timeout: '',
  idleTimeout: '',
  storageSize: '',
  cpu: '',
  memory: '',
};

/** The `POST /api/v1/sandboxes` body the form stands for: empty fields are left to the template. */
export function requestBody(f: CreateForm): Record<string, unknown> {
  const limits = {
    ...(f.cpu.trim() ? { cpu: f.cpu.trim() } : {}),
    ...(f.memory.trim() ? { memory: f.memory.trim() } : {}),
  };
  return {
    name: f.name.trim(),
    ...(f.namespace.trim() ? { namespace: f.namespace.trim() } : {}),
    templateRef: { name: f.template },
    ...(f.timeout.trim() ? { timeout: f.timeout.trim() } : {}),
    ...(f.idleTimeout.trim() ? { idleTimeout: f.idleTimeout.trim() } : {}),
    ...(f.storageSize.trim() ? { storage: { size: f.storageSize.trim() } } : {}),
    ...(Object.keys(limits).length ? { resources: { limits } } : {}),
  };
}

/**
 * Problems by form field, from the very schema the router validates create requests with
 * (packages/contract), so the form and the server never disagree about what is valid.
 */
export function validate(f: CreateForm): Partial<Record<keyof CreateForm, string>> {
  const parsed = createSandboxRequestSchema.safeParse(requestBody(f));
  if (parsed.success) return f.template ? {} : { template: 'choose a template' };
  return fieldProblems(toFieldIssues(parsed.error), f);
}

const FIELD_OF: Record<string, keyof CreateForm> = {
  name: 'name',
  namespace: 'namespace',
  'templateRef.name': 'template',
  timeout: 'timeout',
  idleTimeout: 'idleTimeout',
  'storage.size': 'storageSize',
  'resources.limits.cpu': 'cpu',
  'resources.limits.memory': 'memory',
};

/** Server (or schema) field issues mapped onto the form's fields. */
export function fieldProblems(
  issues: readonly FieldIssue[],
  f?: CreateForm,
): Partial<Record<keyof CreateForm, string>> {
  const out: Partial<Record<keyof CreateForm, string>> = {};
  for (const i of issues) {
    const field = FIELD_OF[i.field];
    if (field && !out[field]) out[field] = i.message;
  }
  if (f && !f.template && !out.template) out.template = 'choose a template';
  return out;
}
