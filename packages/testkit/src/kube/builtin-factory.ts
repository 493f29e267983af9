// The factory for built-in kinds (sensible generic-registry defaults) and shared printer columns.
import { getIn, isObject, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { COMMON_LIST_HINTS, suffixHints } from './resource-type.ts';
import type { ListKind, PrinterColumn, ResourceType } from './resource-type.ts';
import { ageOf } from './time.ts';

type Spec = Partial<ResourceType> & Pick<ResourceType, 'group' | 'kind' | 'plural'> & { version: string };

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export const nameColumn: PrinterColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace.',
  cell: (o) => str(getIn(o, ['metadata', 'name'])) ?? '',
};
export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (o) => ageOf(getIn(o, ['metadata', 'creationTimestamp'])),
};
export function col(
  name: string,
  cell: (o: JsonObject) => Json,
  priority = 0,
  type = 'string',
): PrinterColumn {
  return { name, type, cell, priority, description: name };
}
export const countKeys = (v: unknown) => (isObject(v) ? Object.keys(v).length : 0);

export function builtin(
  spec: Spec,
  columns?: PrinterColumn[],
  extraHints: Array<[string, ListKind]> = [],
): ResourceType {
  const { version, ...rest } = spec;
  return {
    // client-node's model class, e.g. V1Pod (core events override this with CoreV1Event).
    model: `V${version.slice(1)}${spec.kind}`,
    listKind: `${spec.kind}List`,
    singular: spec.kind.toLowerCase(),
    shortNames: [],
    categories: [],
    namespaced: true,
    versions: [version],
    storageVersion: version,
    storageKey: `${spec.group}/${spec.plural}`,
    statusSubresource: false,
    hasGeneration: false,
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: false,
    returnDeletedObject: false,
    strategicMerge: true,
    isCustom: false,
    nameRule: 'subdomain',
    hints: suffixHints([...extraHints, ...COMMON_LIST_HINTS]),
    fieldLabels: {},
    verbs: ALL_VERBS,
    printerColumns: () => columns ?? [nameColumn, ageColumn],
    ...rest,
  };
}
