// The description of one served resource: names for discovery and errors, and the per-kind
// behaviour the generic REST code asks about (status subresource, generation, create-on-update...).
// Built-in kinds are declared in builtin-types.ts; CRDs are turned into ResourceTypes by crd.ts.
import type { Json, JsonObject } from './json.ts';
import type { FieldError, GroupKind, GroupResource } from './status.ts';
import type { NameRule } from './names.ts';

/** How a list is merged by server-side apply and strategic merge patch. */
export type ListKind =
  | { type: 'atomic' }
  /**
   * `defaults`: key fields that have a schema default (ContainerPort.protocol = TCP). Server-side
   * apply (structured-merge-diff) fills them in when it identifies an item, so an applied item
   * without the field is the same item as the live, defaulted one.
   */
  | { type: 'map'; keys: string[]; defaults?: Record<string, Json> }
  | { type: 'set' };

/** Path of field names, `*` standing for a list item or a map value. */
export type SchemaPath = readonly string[];

export interface TypeHints {
  listKind(path: SchemaPath): ListKind;
  /** `x-kubernetes-map-type: atomic` (or a struct marked atomic): owned and replaced as one value. */
  mapAtomic(path: SchemaPath): boolean;
}

export interface ScaleSpec {
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface PrinterColumn {
  name: string;
  type: string;
  format?: string;
  description?: string;
  priority?: number;
  jsonPath?: string;
  /** Built-in printers compute the cell in code. */
  cell?: (obj: JsonObject) => Json;
}

/** Lookups a kind's admission-like checks need (e.g. a Pod's ServiceAccount must exist). */
export interface AdmissionLookup {
  get(storageKey: string, namespace: string, name: string): JsonObject | undefined;
}

/** A field newer than the emulated release, named as strict decoding and server-side apply name it. */
export interface NewerField {
  /** `spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[0].fieldPath` */
  path: string;
  /** `.spec.versions[0].schema.openAPIV3Schema.x-kubernetes-validations[rule="…"].fieldPath` */
  applyPath: string;
}

export interface ResourceType {
  group: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Served versions, preferred first. */
  versions: string[];
  storageVersion: string;
  /** Objects of types with the same storageKey are the same objects (core and events.k8s.io Events). */
  storageKey: string;
  statusSubresource: boolean;
  scale?: ScaleSpec;
  /** metadata.generation is maintained (CRs, Deployments, NetworkPolicies...). */
  hasGeneration: boolean;
  /** PUT without metadata.resourceVersion is allowed (built-ins yes, custom resources no). */
  allowUnconditionalUpdate: boolean;
  /** PUT on a missing object creates it (Leases, Events). */
  allowCreateOnUpdate: boolean;
  /** DELETE answers with the object instead of a Success Status. */
  returnDeletedObject: boolean;
  /** application/strategic-merge-patch+json is accepted (built-ins only). */
  strategicMerge: boolean;
  isCustom: boolean;
  /** Paths of metav1.MicroTime fields (Lease times, Event eventTime): six fractional digits or 400. */
  microTimeFields?: string[][];
  /**
   * The group validation errors named before 1.27 (`Ingress.extensions "x" is invalid` on 1.26,
   * `Ingress.networking.k8s.io` on 1.32): the internal type was still registered under it.
   */
  legacyErrorGroup?: string;
  nameRule: NameRule;
  hints: TypeHints;
  /** Field-selector labels beyond metadata.name / metadata.namespace. */
  fieldLabels: Record<string, (obj: JsonObject) => string | undefined>;
  verbs: string[];
  /** Set for custom resources: the CRD's name, for lifecycle checks. */
  crdName?: string;
  /** CR schema for a version (openAPIV3Schema). */
  schemaFor?(version: string): JsonObject | undefined;
  /**
   * Fields the client-node model knows but the emulated release does not (they arrived later):
   * removed from `obj`, and returned for the unknown-field warning or strict error.
   */
  newerFields?(obj: JsonObject, emulatedMinor: number): NewerField[];
  /** Built-ins: the @kubernetes/client-node model of the stored shape, for unknown-field checks. */
  model?: string;
  printerColumns(version: string): PrinterColumn[];
  /** Defaults and status reset on create (what a built-in's PrepareForCreate does). */
  prepareForCreate?(obj: JsonObject): void;
  prepareForUpdate?(obj: JsonObject, old: JsonObject): void;
  validate?(obj: JsonObject, old: JsonObject | undefined): FieldError[];
  /** Admission on create: a reason makes it a 403 Forbidden (a Pod's ServiceAccount must exist). */
  admit?(obj: JsonObject, lookup: AdmissionLookup): string | undefined;
  /**
   * Graceful deletion (the registry's CheckGracefulDelete; Pods only): the grace period in seconds
   * for a DELETE that asked for `requested` (undefined: the kind's default). More than 0 keeps the
   * object, with deletionTimestamp = now + period, until a DELETE with 0 (the kubelet's) removes it.
   */
  gracePeriod?(obj: JsonObject, requested: number | undefined): number;
  /** The object stays while this is true even with no finalizers (a namespace's spec.finalizers). */
  deletionBlocked?(obj: JsonObject): boolean;
  onDeletionStarted?(obj: JsonObject): void;
  /** Conversion between the stored shape and a version's shape (events.k8s.io/v1 over core Events). */
  toView?(stored: JsonObject): JsonObject;
  fromView?(obj: JsonObject): JsonObject;
  /** Validation of the view shape before conversion (events.k8s.io/v1 requires fields core does not). */
  validateView?(obj: JsonObject): FieldError[];
}

export function groupResource(t: ResourceType): GroupResource {
  return { group: t.group, resource: t.plural };
}
export function groupKind(t: ResourceType): GroupKind {
  return { group: t.group, kind: t.kind };
}
export function apiVersionOf(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

const ATOMIC: ListKind = { type: 'atomic' };

/** Hints from a table of path suffixes, for built-in kinds (their Go struct tags, by hand). */
export function suffixHints(table: Array<[string, ListKind]>, atomicMaps: string[] = []): TypeHints {
  const entries = table.map(([p, k]) => [p.split('.'), k] as const);
  const endsWith = (path: SchemaPath, suffix: readonly string[]) =>
    path.length >= suffix.length && suffix.every((s, i) => path[path.length - suffix.length + i] === s);
  return {
    listKind(path) {
      for (const [suffix, kind] of entries) if (endsWith(path, suffix)) return kind;
      return ATOMIC;
    },
    mapAtomic(path) {
      return atomicMaps.some((m) => endsWith(path, m.split('.')));
    },
  };
}

/** List kinds shared by every object (ObjectMeta) and by pod specs wherever they are embedded. */
export const COMMON_LIST_HINTS: Array<[string, ListKind]> = [
  ['metadata.finalizers', { type: 'set' }],
  ['metadata.ownerReferences', { type: 'map', keys: ['uid'] }],
  ['status.conditions', { type: 'map', keys: ['type'] }],
  ['containers.*.ports', { type: 'map', keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } }],
  [
    'initContainers.*.ports',
    { type: 'map', keys: ['containerPort', 'protocol'], defaults: { protocol: 'TCP' } },
  ],
  ['containers', { type: 'map', keys: ['name'] }],
  ['initContainers', { type: 'map', keys: ['name'] }],
  ['ephemeralContainers', { type: 'map', keys: ['name'] }],
  ['env', { type: 'map', keys: ['name'] }],
  ['volumeMounts', { type: 'map', keys: ['mountPath'] }],
  ['volumeDevices', { type: 'map', keys: ['devicePath'] }],
  ['spec.volumes', { type: 'map', keys: ['name'] }],
  ['imagePullSecrets', { type: 'map', keys: ['name'] }],
  ['hostAliases', { type: 'map', keys: ['ip'] }],
  ['topologySpreadConstraints', { type: 'map', keys: ['topologyKey', 'whenUnsatisfiable'] }],
];
