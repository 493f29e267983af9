// CustomResourceDefinitions: the apiextensions.k8s.io/v1 kind itself (defaults and validation,
// including the structural-schema rules), and the translation of a CRD into the ResourceType that
// serves its custom resources once the CRD is Established.
import { clone, deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { builtinColumns } from './builtin-types.ts';
import { compareKubeVersions } from './registry.ts';
import { COMMON_LIST_HINTS, suffixHints } from './resource-type.ts';
import type { NewerField, PrinterColumn, ResourceType, TypeHints } from './resource-type.ts';
import { validateCelCost } from './cel-cost.ts';
import { schemaAt, validateStructural } from './schema-validate.ts';
import type { FieldError } from './status.ts';

export const CRD_STORAGE_KEY = 'apiextensions.k8s.io/customresourcedefinitions';
export const CRD_CLEANUP_FINALIZER = 'customresourcecleanup.apiextensions.k8s.io';

const COLUMN_TYPES = ['integer', 'number', 'string', 'boolean', 'date'];

function versionsOf(crd: JsonObject): JsonObject[] {
  const v = getIn(crd, ['spec', 'versions']);
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function defaultCrd(obj: JsonObject): void {
  const spec = objectOrEmpty(obj.spec);
  obj.spec = spec;
  const names = objectOrEmpty(spec.names);
  spec.names = names;
  const kind = str(names.kind);
  if (kind) {
    names.singular ??= kind.toLowerCase();
    names.listKind ??= `${kind}List`;
  }
  spec.conversion ??= { strategy: 'None' };
}

/**
 * Schemas, subresources and columns identical across versions are reported under spec.validation /
 * spec.subresources / spec.additionalPrinterColumns, because the apiserver validates its internal
 * version, where such values are hoisted out of spec.versions.
 */
function hoisted(versions: JsonObject[], field: string): boolean {
  const first = versions[0]?.[field];
  return versions.length > 0 && versions.every((v) => deepEqual(v[field], first));
}

export function validateCrd(obj: JsonObject, old: JsonObject | undefined): FieldError[] {
  const errs: FieldError[] = [];
  const spec = objectOrEmpty(obj.spec);
  const names = objectOrEmpty(spec.names);
  const group = str(spec.group) ?? '';
  const plural = str(names.plural) ?? '';
  const name = str(getIn(obj, ['metadata', 'name'])) ?? '';
  if (!group) errs.push({ type: 'Required', field: 'spec.group' });
  else if (!group.includes('.'))
    errs.push({
      type: 'Invalid',
      field: 'spec.group',
      value: group,
      detail: 'should be a domain with at least one dot',
    });
  if (!plural) errs.push({ type: 'Required', field: 'spec.names.plural' });
  if (!str(names.kind)) errs.push({ type: 'Required', field: 'spec.names.kind' });
  if (plural && group && name !== `${plural}.${group}`) {
    errs.push({
      type: 'Invalid',
      field: 'metadata.name',
      value: name,
      detail: 'must be spec.names.plural+"."+spec.group',
    });
  }
  if (spec.scope !== 'Namespaced' && spec.scope !== 'Cluster') {
    errs.push({
      type: 'NotSupported',
      field: 'spec.scope',
      value: spec.scope ?? '',
      supported: ['Cluster', 'Namespaced'],
    });
  }
  if (old && getIn(old, ['spec', 'scope']) !== spec.scope) {
    errs.push({
      type: 'Invalid',
      field: 'spec.scope',
      value: spec.scope ?? '',
      detail: 'field is immutable',
    });
  }
  const versions = versionsOf(obj);
  if (versions.filter((v) => v.storage === true).length !== 1) {
    errs.push({
      type: 'Invalid',
      field: 'spec.versions',
      value: versions,
      detail: 'must have exactly one version marked as storage version',
    });
  }
  const schemaHoisted = hoisted(versions, 'schema');
  const columnsHoisted = hoisted(versions, 'additionalPrinterColumns');
  versions.forEach((v, i) => {
    const vp = `spec.versions[${i}]`;
    if (!str(v.name)) errs.push({ type: 'Required', field: `${vp}.name` });
    const schema = getIn(v, ['schema', 'openAPIV3Schema']);
    if (schema === undefined) {
      errs.push({ type: 'Required', field: `${vp}.schema.openAPIV3Schema`, detail: 'schemas are required' });
    } else if (!schemaHoisted || i === 0) {
      const prefix = schemaHoisted ? 'spec.validation.openAPIV3Schema' : `${vp}.schema.openAPIV3Schema`;
      const structural = validateStructural(schema, prefix);
      errs.push(...structural);
      // Rules are compiled (and their cost estimated) only on a structural schema.
      if (structural.length === 0) errs.push(...validateCelCost(schema, prefix));
    }
    const cols = v.additionalPrinterColumns;
    if (Array.isArray(cols) && (!columnsHoisted || i === 0)) {
      cols.forEach((c, j) => {
        const cp = `${columnsHoisted ? 'spec.additionalPrinterColumns' : `${vp}.additionalPrinterColumns`}[${j}]`;
        const col = objectOrEmpty(c);
        if (!str(col.name)) errs.push({ type: 'Required', field: `${cp}.name` });
        if (!COLUMN_TYPES.includes(str(col.type) ?? '')) {
          errs.push({
            type: 'NotSupported',
            field: `${cp}.type`,
            value: col.type ?? '',
            supported: COLUMN_TYPES,
          });
        }
        if (!str(col.jsonPath)) errs.push({ type: 'Required', field: `${cp}.jsonPath` });
      });
    }
  });
  return errs;
}

const crdHints = suffixHints(COMMON_LIST_HINTS);

/** ValidationRule fields by the release that added them (messageExpression 1.27; reason, fieldPath 1.28). */
const VALIDATION_RULE_FIELDS: Array<[string, number]> = [
  ['messageExpression', 27],
  ['reason', 28],
  ['fieldPath', 28],
];

/**
 * `x-kubernetes-validations` fields a release before 1.28 does not know: a 1.26 apiserver refuses a
 * CRD carrying `fieldPath` (strict decoding, and server-side apply's "field not declared in schema").
 */
function newerCrdFields(obj: JsonObject, emulatedMinor: number): NewerField[] {
  const out: NewerField[] = [];
  const walk = (node: Json, path: string, applyPath: string) => {
    if (Array.isArray(node)) {
      node.forEach((v, i) => walk(v, `${path}[${i}]`, `${applyPath}[${i}]`));
      return;
    }
    if (!isObject(node)) return;
    for (const [k, v] of Object.entries(node)) {
      const p = path ? `${path}.${k}` : k;
      if (k === 'x-kubernetes-validations' && Array.isArray(v)) {
        v.forEach((rule, i) => {
          if (!isObject(rule)) return;
          for (const [field, since] of VALIDATION_RULE_FIELDS) {
            if (emulatedMinor >= since || !(field in rule)) continue;
            delete rule[field];
            out.push({
              path: `${p}[${i}].${field}`,
              applyPath: `.${p}[rule=${JSON.stringify(str(rule.rule) ?? '')}].${field}`,
            });
          }
        });
      } else {
        walk(v, p, `${applyPath}.${k}`);
      }
    }
  };
  const versions = getIn(obj, ['spec', 'versions']);
  if (Array.isArray(versions)) {
    versions.forEach((v, i) =>
      walk(getIn(v, ['schema']) ?? null, `spec.versions[${i}].schema`, `.spec.versions[${i}].schema`),
    );
  }
  return out;
}

/** The built-in CustomResourceDefinition kind. */
export function crdResourceType(): ResourceType {
  return {
    group: 'apiextensions.k8s.io',
    kind: 'CustomResourceDefinition',
    listKind: 'CustomResourceDefinitionList',
    plural: 'customresourcedefinitions',
    singular: 'customresourcedefinition',
    shortNames: ['crd', 'crds'],
    categories: ['api-extensions'],
    namespaced: false,
    versions: ['v1'],
    storageVersion: 'v1',
    storageKey: CRD_STORAGE_KEY,
    model: 'V1CustomResourceDefinition',
    statusSubresource: true,
    hasGeneration: true,
    allowUnconditionalUpdate: true,
    allowCreateOnUpdate: false,
    returnDeletedObject: true,
    strategicMerge: false,
    isCustom: false,
    nameRule: 'subdomain',
    hints: crdHints,
    fieldLabels: {},
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    printerColumns: () => [
      builtinColumns.nameColumn,
      {
        name: 'Created At',
        type: 'date',
        description: 'Created At',
        cell: (o) => getIn(o, ['metadata', 'creationTimestamp']) ?? null,
      },
    ],
    prepareForCreate(obj) {
      defaultCrd(obj);
      obj.status = { acceptedNames: { kind: '', plural: '' }, conditions: [], storedVersions: [] };
    },
    prepareForUpdate: (obj) => defaultCrd(obj),
    validate: validateCrd,
    newerFields: newerCrdFields,
  };
}

function schemaHints(schema: JsonObject | undefined): TypeHints {
  return {
    listKind(path) {
      if (path[0] === 'metadata') return crdHints.listKind(path);
      const s = schemaAt(schema, path);
      const lt = s?.['x-kubernetes-list-type'];
      if (lt === 'set') return { type: 'set' };
      if (lt === 'map') {
        const raw = s?.['x-kubernetes-list-map-keys'];
        const keys = Array.isArray(raw) ? raw.filter((k): k is string => typeof k === 'string') : [];
        // Key fields with a default count with it when items are matched (as structured-merge-diff does).
        const props = getIn(s ?? {}, ['items', 'properties']);
        const defaults: Record<string, Json> = {};
        for (const k of keys) {
          const d = isObject(props) ? getIn(props, [k, 'default']) : undefined;
          if (d !== undefined) defaults[k] = d;
        }
        return { type: 'map', keys, ...(Object.keys(defaults).length ? { defaults } : {}) };
      }
      return { type: 'atomic' };
    },
    mapAtomic(path) {
      if (path[0] === 'metadata') return false;
      const s = schemaAt(schema, path);
      return s?.['x-kubernetes-map-type'] === 'atomic' || s?.['x-kubernetes-embedded-resource'] === true;
    },
  };
}

/** The ResourceType a CRD defines (undefined while the CRD is unusable). */
export function typeFromCrd(crd: JsonObject): ResourceType | undefined {
  const spec = objectOrEmpty(crd.spec);
  const names = objectOrEmpty(spec.names);
  const group = str(spec.group);
  const kind = str(names.kind);
  const plural = str(names.plural);
  const versions = versionsOf(crd);
  const storage = versions.find((v) => v.storage === true);
  if (!group || !kind || !plural || !storage) return undefined;
  const served = versions
    .filter((v) => v.served !== false)
    .map((v) => str(v.name) ?? '')
    .filter(Boolean)
    .sort(compareKubeVersions);
  const byName = (version: string) => versions.find((v) => v.name === version);
  const schemaFor = (version: string) => {
    const s = getIn(byName(version), ['schema', 'openAPIV3Schema']);
    return isObject(s) ? s : undefined;
  };
  const storageName = str(storage.name) ?? '';
  const sub = objectOrEmpty(storage.subresources);
  const scale = isObject(sub.scale) ? sub.scale : undefined;
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  return {
    group,
    kind,
    listKind: str(names.listKind) ?? `${kind}List`,
    plural,
    singular: str(names.singular) ?? kind.toLowerCase(),
    shortNames: strings(names.shortNames),
    categories: strings(names.categories),
    namespaced: spec.scope !== 'Cluster',
    versions: served,
    storageVersion: storageName,
    storageKey: `${group}/${plural}`,
    statusSubresource: isObject(sub.status),
    scale: scale
      ? {
          specReplicasPath: str(scale.specReplicasPath) ?? '.spec.replicas',
          statusReplicasPath: str(scale.statusReplicasPath) ?? '.status.replicas',
          labelSelectorPath: str(scale.labelSelectorPath),
        }
      : undefined,
    hasGeneration: true,
    allowUnconditionalUpdate: false,
    allowCreateOnUpdate: false,
    returnDeletedObject: false,
    strategicMerge: false,
    isCustom: true,
    nameRule: 'subdomain',
    hints: schemaHints(schemaFor(storageName)),
    fieldLabels: {},
    verbs: ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'],
    crdName: str(getIn(crd, ['metadata', 'name'])),
    schemaFor,
    printerColumns(version) {
      const cols = byName(version)?.additionalPrinterColumns;
      const defs: PrinterColumn[] = Array.isArray(cols)
        ? cols.filter(isObject).map((c) => ({
            name: str(c.name) ?? '',
            type: str(c.type) ?? 'string',
            format: str(c.format),
            description: str(c.description) ?? '',
            priority: typeof c.priority === 'number' ? c.priority : 0,
            jsonPath: str(c.jsonPath) ?? '',
          }))
        : [
            {
              name: 'Age',
              type: 'date',
              description: '',
              priority: 0,
              jsonPath: '.metadata.creationTimestamp',
            },
          ];
      return [builtinColumns.nameColumn, ...defs];
    },
  };
}

function condition(type: string, status: string, reason: string, message: string, now: string): JsonObject {
  return { type, status, lastTransitionTime: now, reason, message };
}

/** The status the establishing controllers write: names accepted, Established, stored versions. */
export function establishedStatus(crd: JsonObject, now: string): JsonObject {
  const spec = objectOrEmpty(crd.spec);
  const status = clone(objectOrEmpty(crd.status));
  const names = clone(objectOrEmpty(spec.names));
  status.acceptedNames = names;
  const storage = versionsOf(crd).find((v) => v.storage === true);
  const stored = Array.isArray(status.storedVersions) ? status.storedVersions : [];
  const sv = str(storage?.name);
  if (sv && !stored.includes(sv)) stored.push(sv);
  status.storedVersions = stored;
  status.conditions = [
    condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found', now),
    condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted', now),
  ];
  return status;
}

export function isEstablished(crd: JsonObject): boolean {
  const conds = getIn(crd, ['status', 'conditions']);
  return (
    Array.isArray(conds) && conds.some((c) => isObject(c) && c.type === 'Established' && c.status === 'True')
  );
}
