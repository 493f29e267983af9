import type { SandboxView } from '@agenttier/sdk';

export interface SandboxFilter {
  phase: string; // '' = any
  template: string;
  namespace: string;
  /** Case-insensitive substring of the name, namespace, template or creator. */
  search: string;
}

export const NO_FILTER: SandboxFilter = { phase: '', template: '', namespace: '', search: '' };

export function filterSandboxes(list: readonly SandboxView[], f: SandboxFilter): SandboxView[] {
  const q = f.search.trim().toLowerCase();
  return list.filter(
    (s) =>
      (!f.phase || s.phase === f.phase) &&
      (!f.template || s.templateRef === f.template) &&
      (!f.namespace || s.namespace === f.namespace) &&
      (!q ||
        [s.name, s.namespace, s.templateRef, s.createdBy?.email ?? '', s.createdBy?.sub ?? ''].some((v) =>
          v.toLowerCase().includes(q),
        )),
  );
}

/** The distinct values of one field, sorted, for a filter's options. */
export function distinct(
  list: readonly SandboxView[],
  field: 'phase' | 'templateRef' | 'namespace',
): string[] {
  return [...new Set(list.map((s) => s[field]).filter(Boolean))].sort();
}

/** `namespace/name`: the key of a sandbox in selections and React lists. */
export function keyOf(s: Pick<SandboxView, 'namespace' | 'name'>): string {
  return `${s.namespace}/${s.name}`;
}
