// The generic REST semantics every resource shares (k8s.io/apiserver's generic registry): create,
// get, list, update, patch, apply, delete, with optimistic concurrency, the status subresource,
// generation, finalizers and deletionTimestamp, field ownership, dry-run and field validation.
// Kind-specific behaviour comes from the ResourceType; the HTTP framing lives in server.ts.
import { randomUUID } from 'node:crypto';
import { clone, deepEqual, getIn, isObject, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { managedFieldsAfterUpdate } from './managed-fields.ts';
import type { OwnershipScope, Seg } from './managed-fields.ts';
import { generateName, validateName, validateObjectMeta } from './names.ts';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  decodeJsonPatch,
  PatchApplyError,
} from './patch.ts';
import type { Registry } from './registry.ts';
import { apiVersionOf, groupKind, groupResource } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';
import { applyDefaults, pruneUnknown, validateAgainstSchema } from './schema-validate.ts';
import { modelSchema } from './builtin-schema.ts';
import { celValidate } from './cel.ts';
import { errors } from './status.ts';
import type { FieldError, GroupKind, KubeError } from './status.ts';
import type { Storage } from './storage.ts';
import { applyConfiguration } from './apply.ts';
import { deleteCollection, deleteObject } from './delete.ts';
import { finalizersOf, meta } from './object-meta.ts';
import { listObjects, matchesSelectors, parseSelectors } from './list.ts';
import type { ListQuery, Selectors } from './list.ts';
import { scaleOf, withReplicas } from './scale.ts';

export type { ListQuery, Selectors } from './list.ts';
import { nowRfc3339 } from './time.ts';

export type FieldValidation = 'Ignore' | 'Warn' | 'Strict';

export interface WriteOptions {
  /** The field manager: the fieldManager parameter, else the User-Agent's product name. */
  manager: string;
  /** Whether fieldManager was passed explicitly (server-side apply requires it). */
  fieldManagerGiven: boolean;
  dryRun: boolean;
  fieldValidation: FieldValidation;
  force: boolean;
  /** Filled with `Warning` header texts. */
  warnings: string[];
  /**
   * Set for requests whose body is decoded as the object (create, update): a strict-decoding
   * failure then reads "<Kind> in version "<v>" cannot be handled as a <Kind>: strict decoding error: …".
   */
  decodeContext?: string;
}

export interface Target {
  type: ResourceType;
  version: string;
  namespace?: string;
  name?: string;
  subresource?: string;
}

export interface Result {
  code: number;
  body: JsonObject;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  /** DeleteOptions.gracePeriodSeconds (body or query); only kinds with `gracePeriod` use it. */
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

/** Internal writers (controllers, test hooks) use this identity. */
export function internalOptions(manager: string): WriteOptions {
  return {
    manager,
    fieldManagerGiven: true,
    dryRun: false,
    fieldValidation: 'Ignore',
    force: true,
    warnings: [],
  };
}

export class Rest {
  /** The minor version of the Kubernetes release emulated (1.x), where behaviour differs. */
  emulatedMinor = 26;

  /** The kind validation errors name: before 1.27 some built-ins still report their legacy group. */
  private validationKind(t: ResourceType): GroupKind {
    return t.legacyErrorGroup !== undefined && this.emulatedMinor < 27
      ? { group: t.legacyErrorGroup, kind: t.kind }
      : groupKind(t);
  }

  constructor(
    readonly storage: Storage,
    readonly registry: Registry,
    /** Wakes the controllers; called after every stored change. */
    readonly afterWrite: () => void,
  ) {}

  // --- views --------------------------------------------------------------------------------------

  /** The stored object as the client sees it at `version`. */
  view(t: ResourceType, version: string, stored: JsonObject): JsonObject {
    const base = t.toView ? t.toView(stored) : clone(stored);
    const out: JsonObject = { apiVersion: apiVersionOf(t.group, version), kind: t.kind };
    for (const [k, v] of Object.entries(base)) if (k !== 'apiVersion' && k !== 'kind') out[k] = v;
    return out;
  }

  /** @internal */
  fromView(t: ResourceType, obj: JsonObject): JsonObject {
    const out = t.fromView ? t.fromView(obj) : clone(obj);
    out.apiVersion = apiVersionOf(t.group, t.storageVersion);
    out.kind = t.kind;
    return out;
  }

  private checkTypeMeta(target: Target, body: JsonObject, name: string): void {
    const t = target.type;
    const want = apiVersionOf(t.group, target.version);
    const kind = body.kind;
    const apiVersion = body.apiVersion;
    if (t.isCustom && (typeof kind !== 'string' || kind === '')) {
      throw errors.badRequest(`Object 'Kind' is missing in '${JSON.stringify(body)}'`);
    }
    if (typeof kind === 'string' && kind !== '' && kind !== t.kind) {
      throw errors.invalid(groupKind(t), name, [
        { type: 'Invalid', field: 'kind', value: kind, detail: `must be ${t.kind}` },
      ]);
    }
    if (typeof apiVersion === 'string' && apiVersion !== '' && apiVersion !== want) {
      throw errors.badRequest(
        `the API version in the data (${apiVersion}) does not match the expected API version (${want})`,
      );
    }
  }

  /** @internal */
  checkNamespace(target: Target, body: JsonObject): void {
    const m = meta(body);
    if (!target.type.namespaced) {
      delete m.namespace;
      return;
    }
    const ns = str(m.namespace);
    if (ns && target.namespace && ns !== target.namespace) {
      throw errors.badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    }
    if (target.namespace) m.namespace = target.namespace;
  }

  private namespaceAdmission(t: ResourceType, ns: string | undefined, name: string): void {
    if (!t.namespaced || !ns) return;
    const nsObj = this.storage.get('/namespaces', undefined, ns);
    if (!nsObj) throw errors.notFound({ group: '', resource: 'namespaces' }, ns);
    if (getIn(nsObj, ['metadata', 'deletionTimestamp'])) {
      throw errors.forbidden(
        groupResource(t),
        name,
        `unable to create new content in namespace ${ns} because it is being terminated`,
        [
          {
            reason: 'NamespaceTerminating',
            message: `namespace ${ns} is being terminated`,
            field: 'metadata.namespace',
          },
        ],
      );
    }
  }

  /** @internal */
  ownershipScope(t: ResourceType, subresource: string | undefined): OwnershipScope {
    const first = (segs: readonly Seg[]) => {
      const s = segs[0];
      return s && 'f' in s ? s.f : undefined;
    };
    if (subresource === 'status') return { includes: (segs) => first(segs) === 'status' };
    if (t.statusSubresource) return { includes: (segs) => first(segs) !== 'status' };
    return { includes: () => true };
  }

  /**
   * Prune, default and validate a custom resource against its schema; returns field errors.
   * Built-ins are only pruned, against their client-node model.
   */
  private schemaPass(
    t: ResourceType,
    version: string,
    obj: JsonObject,
    opts: WriteOptions,
    old?: JsonObject,
  ): FieldError[] {
    if (!t.isCustom) {
      const newer = (t.newerFields?.(obj, this.emulatedMinor) ?? []).map((f) => f.path);
      const model = t.model ? modelSchema(t.model) : undefined;
      this.reportUnknownFields([...newer, ...(model ? pruneUnknown(obj, model) : [])], opts);
      return [];
    }
    const schema = t.schemaFor?.(version);
    if (!schema) return [];
    const unknown = pruneUnknown(obj, schema);
    this.reportUnknownFields(unknown, opts);
    applyDefaults(obj, schema);
    return [...validateAgainstSchema(obj, schema), ...celValidate(obj, schema, old)];
  }

  /** @internal */
  reportUnknownFields(unknown: string[], opts: WriteOptions): void {
    if (unknown.length === 0) return;
    if (opts.fieldValidation === 'Strict') {
      const list = unknown.map((u) => `unknown field "${u}"`).join(', ');
      throw errors.badRequest(`${opts.decodeContext ?? ''}strict decoding error: ${list}`);
    }
    if (opts.fieldValidation === 'Warn') for (const u of unknown) opts.warnings.push(`unknown field "${u}"`);
  }

  // --- reads --------------------------------------------------------------------------------------

  getStored(t: ResourceType, ns: string | undefined, name: string): JsonObject | undefined {
    return this.storage.get(t.storageKey, t.namespaced ? ns : undefined, name);
  }

  get(target: Target): JsonObject {
    const t = target.type;
    const name = target.name ?? '';
    const stored = this.getStored(t, target.namespace, name);
    if (!stored) throw errors.notFound(groupResource(t), name);
    if (target.subresource === 'scale') return this.scaleOf(target, stored);
    return this.view(t, target.version, stored);
  }

  parseSelectors(t: ResourceType, q: ListQuery): Selectors {
    return parseSelectors(t, q);
  }

  matches(t: ResourceType, sel: Selectors, stored: JsonObject): boolean {
    return matchesSelectors(t, sel, stored);
  }

  list(target: Target, q: ListQuery): JsonObject {
    return listObjects(this.storage, (o) => this.view(target.type, target.version, o), target, q);
  }

  // --- create -------------------------------------------------------------------------------------

  create(target: Target, bodyIn: JsonObject, opts: WriteOptions, preset?: { managedFields: Json[] }): Result {
    const t = target.type;
    if (target.subresource) throw errors.methodNotSupported(groupResource(t), 'create');
    this.crdLifecycleCheck(t);
    opts = { ...opts, decodeContext: opts.decodeContext ?? decodeContext(t, target.version) };
    const body = clone(bodyIn);
    const m = meta(body);
    const displayName = str(m.name) ?? str(m.generateName) ?? '';
    this.checkTypeMeta(target, body, displayName);
    checkMicroTimes(t, body, target.version);
    const viewErrs = t.validateView?.(body) ?? [];
    const obj = this.fromView(t, body);
    this.checkNamespace(target, obj);
    const om = meta(obj);
    if (om.resourceVersion !== undefined && om.resourceVersion !== '' && om.resourceVersion !== null) {
      throw errors.badRequest('resourceVersion should not be set on objects to be created');
    }
    const errs: FieldError[] = [...viewErrs];
    if (!str(om.name)) {
      const gn = str(om.generateName);
      if (gn) om.name = generateName(gn);
      else
        errs.push({ type: 'Required', field: 'metadata.name', detail: 'name or generateName is required' });
    }
    const name = str(om.name) ?? '';
    for (const k of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'selfLink',
      'managedFields',
    ]) {
      delete om[k];
    }
    if (t.isCustom && t.statusSubresource) delete obj.status;
    errs.push(...this.schemaPass(t, target.version, obj, opts));
    t.prepareForCreate?.(obj);
    if (name) errs.push(...validateName(t.nameRule, name));
    errs.push(...validateObjectMeta(om));
    errs.push(...(t.validate?.(obj, undefined) ?? []));
    if (errs.length) throw errors.invalid(this.validationKind(t), name, errs);

    this.namespaceAdmission(t, str(om.namespace), name);
    const denial = t.admit?.(obj, { get: (key, ns, n) => this.storage.get(key, ns, n) });
    if (denial) throw errors.forbidden(groupResource(t), name, denial);
    if (this.getStored(t, str(om.namespace), name)) throw errors.alreadyExists(groupResource(t), name);

    om.uid = randomUUID();
    om.creationTimestamp = nowRfc3339();
    if (t.hasGeneration) om.generation = 1;
    const now = nowRfc3339();
    om.managedFields =
      preset?.managedFields ??
      managedFieldsAfterUpdate({
        old: undefined,
        next: obj,
        manager: opts.manager,
        apiVersion: apiVersionOf(t.group, target.version),
        hints: t.hints,
        scope: this.ownershipScope(t, undefined),
        now,
      });
    if ((om.managedFields as Json[]).length === 0) delete om.managedFields;
    if (opts.dryRun) return { code: 201, body: this.view(t, target.version, obj) };
    this.storage.put(t.storageKey, obj);
    this.afterWrite();
    return { code: 201, body: this.view(t, target.version, obj) };
  }

  private crdLifecycleCheck(t: ResourceType): void {
    if (!t.crdName) return;
    const crd = this.storage.get('apiextensions.k8s.io/customresourcedefinitions', undefined, t.crdName);
    if (crd && getIn(crd, ['metadata', 'deletionTimestamp'])) {
      throw errors.methodNotSupported(groupResource(t), 'create');
    }
  }

  // --- update / patch / apply ---------------------------------------------------------------------

  update(target: Target, bodyIn: JsonObject, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    opts = { ...opts, decodeContext: decodeContext(t, target.version) };
    const body = clone(bodyIn);
    if (target.subresource !== 'scale') this.checkTypeMeta(target, body, name);
    const bodyName = str(meta(body).name) ?? '';
    if (bodyName !== name) {
      throw errors.badRequest(
        `the name of the object (${bodyName}) does not match the name on the URL (${name})`,
      );
    }
    if (target.subresource === 'scale') return this.updateScale(target, body, opts);
    const obj = this.fromView(t, body);
    this.checkNamespace(target, obj);
    const old = this.getStored(t, target.namespace, name);
    if (!old) {
      if (t.allowCreateOnUpdate && !target.subresource) {
        delete meta(obj).resourceVersion;
        return this.create({ ...target }, this.view(t, target.version, obj), opts);
      }
      throw errors.notFound(groupResource(t), name);
    }
    const rv = str(meta(obj).resourceVersion);
    if (!rv && !t.allowUnconditionalUpdate) {
      // The custom-resource registry names the resource here, not the kind (`widgets.example.com`).
      throw errors.invalid(t.isCustom ? { group: t.group, kind: t.plural } : groupKind(t), name, [
        {
          type: 'Invalid',
          field: 'metadata.resourceVersion',
          value: { go: '0x0' },
          detail: 'must be specified for an update',
        },
      ]);
    }
    return this.commitUpdate(target, old, obj, opts);
  }

  patch(target: Target, type: PatchType, patchBody: unknown, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    if (type === 'apply') return applyConfiguration(this, target, patchBody, opts);
    if (type === 'strategic' && !t.strategicMerge) throw unsupportedPatch(t);
    const old = this.getStored(t, target.namespace, name);
    if (!old) throw errors.notFound(groupResource(t), name);
    const current: JsonObject =
      target.subresource === 'scale' ? this.scaleOf(target, old) : this.view(t, target.version, old);
    let patched: Json;
    try {
      if (type === 'json') patched = applyJsonPatch(current, decodeJsonPatch(patchBody));
      else if (type === 'merge') patched = applyMergePatch(current, patchBody as Json);
      else patched = applyStrategicMergePatch(current, patchBody as Json, t.hints);
    } catch (e) {
      if (e instanceof PatchApplyError) throw errors.patchRejected(e.message);
      throw e;
    }
    if (!isObject(patched)) throw errors.badRequest('the patched object is not a JSON object');
    if (target.subresource === 'scale') return this.updateScale(target, patched, opts);
    this.checkTypeMeta(target, patched, name);
    const obj = this.fromView(t, patched);
    this.checkNamespace(target, obj);
    meta(obj).name = name;
    return this.commitUpdate(target, old, obj, opts);
  }

  /**
   * The part of every update after the request-specific merge: subresource split, concurrency,
   * immutable metadata, finalizer rules, schema and kind validation, generation, ownership,
   * no-op detection, and deletion once the last finalizer is gone.
   */
  commitUpdate(
    target: Target,
    old: JsonObject,
    nextIn: JsonObject,
    opts: WriteOptions,
    managed?: Json[],
  ): Result {
    const t = target.type;
    const name = str(meta(old).name) ?? '';
    checkMicroTimes(t, nextIn, target.version);
    let next = nextIn;
    const requestRv = str(meta(next).resourceVersion);
    if (target.subresource === 'status') {
      const onlyStatus = clone(old);
      if (next.status === undefined) delete onlyStatus.status;
      else onlyStatus.status = next.status;
      meta(onlyStatus).managedFields = meta(next).managedFields ?? null;
      next = onlyStatus;
    } else if (t.statusSubresource) {
      if (old.status === undefined) delete next.status;
      else next.status = clone(old.status);
    }
    if (requestRv && requestRv !== str(meta(old).resourceVersion))
      throw errors.staleUpdate(groupResource(t), name);

    const nm = meta(next);
    const om = meta(old);
    for (const k of [
      'uid',
      'creationTimestamp',
      'deletionTimestamp',
      'deletionGracePeriodSeconds',
      'generation',
      'name',
      'namespace',
    ]) {
      if (om[k] === undefined) delete nm[k];
      else nm[k] = clone(om[k] as Json);
    }
    nm.resourceVersion = om.resourceVersion ?? null;

    const errs: FieldError[] = [];
    if (om.deletionTimestamp) {
      const added = finalizersOf(next).filter((f) => !finalizersOf(old).includes(f));
      if (added.length) {
        errs.push({
          type: 'Forbidden',
          field: 'metadata.finalizers',
          detail: `no new finalizers can be added if the object is being deleted, found new finalizers []string{${added.map((a) => JSON.stringify(a)).join(', ')}}`,
        });
      }
    }
    errs.push(...this.schemaPass(t, target.version, next, opts, old));
    t.prepareForUpdate?.(next, old);
    errs.push(...validateObjectMeta(nm));
    errs.push(...(t.validate?.(next, old) ?? []));
    if (errs.length) throw errors.invalid(this.validationKind(t), name, errs);

    if (t.hasGeneration && typeof om.generation === 'number' && specChanged(t, old, next)) {
      nm.generation = om.generation + 1;
    }
    nm.managedFields =
      managed ??
      managedFieldsAfterUpdate({
        old,
        next,
        manager: opts.manager,
        apiVersion: apiVersionOf(t.group, target.version),
        subresource: target.subresource === 'status' ? 'status' : undefined,
        hints: t.hints,
        scope: this.ownershipScope(t, target.subresource),
        now: nowRfc3339(),
      });
    if ((nm.managedFields as Json[]).length === 0) delete nm.managedFields;

    if (sameIgnoringManagedTimes(old, next)) return { code: 200, body: this.view(t, target.version, old) };
    if (opts.dryRun) return { code: 200, body: this.view(t, target.version, next) };
    if (nm.deletionTimestamp && finalizersOf(next).length === 0 && !t.deletionBlocked?.(next)) {
      const last = this.storage.remove(t.storageKey, next);
      this.afterWrite();
      return { code: 200, body: this.view(t, target.version, last) };
    }
    this.storage.put(t.storageKey, next);
    this.afterWrite();
    return { code: 200, body: this.view(t, target.version, next) };
  }

  // --- scale --------------------------------------------------------------------------------------

  private scaleOf(target: Target, stored: JsonObject): JsonObject {
    return scaleOf(target.type, stored);
  }

  private updateScale(target: Target, scale: JsonObject, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    const old = this.getStored(t, target.namespace, name);
    if (!old || !t.scale) throw errors.notFound(groupResource(t), name);
    const next = clone(old);
    const rv = str(getIn(scale, ['metadata', 'resourceVersion']));
    meta(next).resourceVersion = rv ?? meta(old).resourceVersion ?? null;
    withReplicas(t, next, Number(getIn(scale, ['spec', 'replicas']) ?? 0));
    const res = this.commitUpdate({ ...target, subresource: undefined }, old, next, opts);
    const stored = this.getStored(t, target.namespace, name) ?? old;
    return { code: res.code, body: this.scaleOf(target, stored) };
  }

  // --- delete -------------------------------------------------------------------------------------

  delete(target: Target, del: DeleteOptions, opts: WriteOptions): Result {
    return deleteObject(this, target, del, opts);
  }

  deleteCollection(target: Target, q: ListQuery, del: DeleteOptions, opts: WriteOptions): Result {
    return deleteCollection(this, target, q, del, opts);
  }
}

const MICRO_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(Z|[+-]\d\d:\d\d)$/;

/**
 * metav1.MicroTime fields decode with Go's layout "2006-01-02T15:04:05.000000Z07:00": exactly six
 * fractional digits. A JavaScript Date's ".145Z" is refused (400) before anything else happens.
 */
function checkMicroTimes(t: ResourceType, obj: JsonObject, version: string): void {
  for (const path of t.microTimeFields ?? []) {
    const v = getIn(obj, path);
    if (typeof v !== 'string' || MICRO_TIME.test(v)) continue;
    const rest = v.length > 19 ? v.slice(19) : v;
    throw errors.badRequest(
      `${decodeContext(t, version)}parsing time ${JSON.stringify(v)} as "2006-01-02T15:04:05.000000Z07:00": cannot parse ${JSON.stringify(rest)} as ".000000"`,
    );
  }
}

function decodeContext(t: ResourceType, version: string): string {
  return `${t.kind} in version "${version}" cannot be handled as a ${t.kind}: `;
}

function unsupportedPatch(t: ResourceType): KubeError {
  const accepted = [
    'application/json-patch+json',
    'application/merge-patch+json',
    'application/apply-patch+yaml',
  ];
  if (t.strategicMerge) accepted.splice(2, 0, 'application/strategic-merge-patch+json');
  return errors.unsupportedMediaType(accepted);
}

export { unsupportedPatch };

function specChanged(t: ResourceType, a: JsonObject, b: JsonObject): boolean {
  const strip = (o: JsonObject) => {
    const c: JsonObject = { ...o };
    delete c.metadata;
    delete c.apiVersion;
    delete c.kind;
    if (t.statusSubresource) delete c.status;
    return c;
  };
  return !deepEqual(strip(a), strip(b));
}

function sameIgnoringManagedTimes(a: JsonObject, b: JsonObject): boolean {
  const strip = (o: JsonObject) => {
    const c = clone(o);
    const m = meta(c);
    if (Array.isArray(m.managedFields)) for (const e of m.managedFields) if (isObject(e)) delete e.time;
    return c;
  };
  return deepEqual(strip(a), strip(b));
}
