// The generic REST semantics every resource shares (k8s.io/apiserver's generic registry): create,
// get, list, update, patch, apply, delete, with optimistic concurrency, the status subresource,
// generation, finalizers and deletionTimestamp, field ownership, dry-run and field validation.
// Kind-specific behaviour comes from the ResourceType; the HTTP framing lives in server.ts.
import { randomUUID } from 'node:crypto';
import { clone, deepEqual, getIn, isObject, objectOrEmpty, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { conflictMessage, managedFieldsAfterUpdate, serverSideApply } from './managed-fields.ts';
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
import {
  matchesFields,
  matchesLabels,
  parseFieldSelector,
  parseLabelSelector,
  SelectorParseError,
} from './selectors.ts';
import type { FieldRequirement, LabelRequirement } from './selectors.ts';
import { errors, KubeError, statusBody, successStatus } from './status.ts';
import type { FieldError } from './status.ts';
import type { Storage } from './storage.ts';
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

export interface ListQuery {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface DeleteOptions {
  propagationPolicy?: 'Background' | 'Foreground' | 'Orphan';
  preconditions?: { uid?: string; resourceVersion?: string };
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export interface Selectors {
  labels: LabelRequirement[];
  fields: FieldRequirement[];
}

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

function meta(o: JsonObject): JsonObject {
  const m = o.metadata;
  if (isObject(m)) return m;
  const created: JsonObject = {};
  o.metadata = created;
  return created;
}

function finalizersOf(o: JsonObject): string[] {
  const f = meta(o).finalizers;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}

export class Rest {
  constructor(
    readonly storage: Storage,
    readonly registry: Registry,
    private readonly afterWrite: () => void,
  ) {}

  // --- views --------------------------------------------------------------------------------------

  /** The stored object as the client sees it at `version`. */
  view(t: ResourceType, version: string, stored: JsonObject): JsonObject {
    const base = t.toView ? t.toView(stored) : clone(stored);
    const out: JsonObject = { apiVersion: apiVersionOf(t.group, version), kind: t.kind };
    for (const [k, v] of Object.entries(base)) if (k !== 'apiVersion' && k !== 'kind') out[k] = v;
    return out;
  }

  private fromView(t: ResourceType, obj: JsonObject): JsonObject {
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

  private checkNamespace(target: Target, body: JsonObject): void {
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

  private ownershipScope(t: ResourceType, subresource: string | undefined): OwnershipScope {
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
  private schemaPass(t: ResourceType, version: string, obj: JsonObject, opts: WriteOptions): FieldError[] {
    if (!t.isCustom) {
      const model = t.model ? modelSchema(t.model) : undefined;
      if (model) this.reportUnknownFields(pruneUnknown(obj, model), opts);
      return [];
    }
    const schema = t.schemaFor?.(version);
    if (!schema) return [];
    const unknown = pruneUnknown(obj, schema);
    this.reportUnknownFields(unknown, opts);
    applyDefaults(obj, schema);
    return validateAgainstSchema(obj, schema);
  }

  private reportUnknownFields(unknown: string[], opts: WriteOptions): void {
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
    try {
      const labels = parseLabelSelector(q.labelSelector);
      const fields = parseFieldSelector(q.fieldSelector);
      for (const f of fields) {
        if (f.key !== 'metadata.name' && f.key !== 'metadata.namespace' && !(f.key in t.fieldLabels)) {
          throw errors.badRequest(`field label not supported: ${f.key}`);
        }
      }
      return { labels, fields };
    } catch (e) {
      if (e instanceof SelectorParseError) throw errors.badRequest(e.message);
      throw e;
    }
  }

  matches(t: ResourceType, sel: Selectors, stored: JsonObject): boolean {
    const m = objectOrEmpty(stored.metadata);
    if (!matchesLabels(sel.labels, objectOrEmpty(m.labels))) return false;
    return matchesFields(sel.fields, (key) => {
      if (key === 'metadata.name') return str(m.name);
      if (key === 'metadata.namespace') return str(m.namespace);
      return t.fieldLabels[key]?.(stored);
    });
  }

  list(target: Target, q: ListQuery): JsonObject {
    const t = target.type;
    const sel = this.parseSelectors(t, q);
    let rv = this.storage.currentRv();
    let start = '';
    if (q.continue) {
      const token = decodeContinue(q.continue);
      if (token.rv < this.storage.compactedRevision()) {
        throw errors.expired(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      rv = token.rv;
      start = token.start;
    }
    const all = this.storage
      .list(t.storageKey, t.namespaced ? target.namespace : undefined)
      .filter((o) => this.matches(t, sel, o))
      .filter((o) => !start || slotKey(o) > start);
    let items = all;
    const listMeta: JsonObject = { resourceVersion: String(rv) };
    if (q.limit && q.limit > 0 && all.length > q.limit) {
      items = all.slice(0, q.limit);
      const last = items[items.length - 1];
      if (last) listMeta.continue = encodeContinue(rv, slotKey(last));
      // The real server omits the count when selectors filter the list.
      if (!q.labelSelector && !q.fieldSelector) listMeta.remainingItemCount = all.length - items.length;
    }
    return {
      apiVersion: apiVersionOf(t.group, target.version),
      kind: t.listKind,
      metadata: listMeta,
      items: items.map((o) => {
        const v = this.view(t, target.version, o);
        // Typed lists of built-in kinds carry no apiVersion/kind per item; unstructured (CR) lists do.
        if (!t.isCustom) {
          delete v.apiVersion;
          delete v.kind;
        }
        return v;
      }),
    };
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
    if (errs.length) throw errors.invalid(groupKind(t), name, errs);

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
      throw errors.invalid(groupKind(t), name, [
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
    if (type === 'apply') return this.apply(target, patchBody, opts);
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

  private apply(target: Target, raw: unknown, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    if (!opts.fieldManagerGiven) {
      throw errors.invalid({ group: 'meta.k8s.io', kind: 'PatchOptions' }, '', [
        { type: 'Required', field: 'fieldManager', detail: 'is required for apply patch' },
      ]);
    }
    if (!isObject(raw))
      throw errors.badRequest('error decoding YAML: the apply configuration must be an object');
    const config = clone(raw);
    const want = apiVersionOf(t.group, target.version);
    if (config.apiVersion !== want || config.kind !== t.kind) {
      throw errors.badRequest(
        `the API version in the data (${str(config.apiVersion) ?? ''}) does not match the expected API version (${want})`,
      );
    }
    const cm = meta(config);
    if ((str(cm.name) ?? '') !== name) {
      throw errors.badRequest(
        `the name of the object (${str(cm.name) ?? ''}) does not match the name on the URL (${name})`,
      );
    }
    let cfg = this.fromView(t, config);
    this.checkNamespace(target, cfg);
    const schema = t.isCustom ? t.schemaFor?.(target.version) : t.model ? modelSchema(t.model) : undefined;
    if (schema) this.reportUnknownFields(pruneUnknown(cfg, schema), opts);
    cfg = scopeConfig(cfg, t, target.subresource);
    const apiVersion = want;
    const old = this.getStored(t, target.namespace, name);
    const now = nowRfc3339();
    const scope = this.ownershipScope(t, target.subresource);
    const sub = target.subresource === 'status' ? 'status' : undefined;
    if (!old) {
      if (target.subresource) throw errors.notFound(groupResource(t), name);
      const shell: JsonObject = { apiVersion: cfg.apiVersion ?? null, kind: t.kind, metadata: { name } };
      if (t.namespaced && target.namespace) meta(shell).namespace = target.namespace;
      const res = serverSideApply({
        live: shell,
        config: cfg,
        manager: opts.manager,
        apiVersion,
        force: opts.force,
        hints: t.hints,
        scope,
        now,
      });
      if (!res.ok) throw applyConflict(res.conflicts);
      const managedFields = (meta(res.object).managedFields as Json[]) ?? [];
      return this.create(target, this.view(t, target.version, res.object), opts, { managedFields });
    }
    const rv = str(cm.resourceVersion);
    if (rv && rv !== str(meta(old).resourceVersion)) throw errors.staleUpdate(groupResource(t), name);
    const res = serverSideApply({
      live: clone(old),
      config: cfg,
      manager: opts.manager,
      apiVersion,
      subresource: sub,
      force: opts.force,
      hints: t.hints,
      scope,
      now,
    });
    if (!res.ok) throw applyConflict(res.conflicts);
    const managed = (meta(res.object).managedFields as Json[]) ?? [];
    meta(res.object).resourceVersion = meta(old).resourceVersion ?? null;
    return this.commitUpdate(target, old, res.object, opts, managed);
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
    errs.push(...this.schemaPass(t, target.version, next, opts));
    t.prepareForUpdate?.(next, old);
    errs.push(...validateObjectMeta(nm));
    errs.push(...(t.validate?.(next, old) ?? []));
    if (errs.length) throw errors.invalid(groupKind(t), name, errs);

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
    const t = target.type;
    if (!t.scale) throw errors.notFound(groupResource(t), target.name ?? '');
    const m = meta(stored);
    const at = (p: string) => getIn(stored, p.replace(/^\./, '').split('.'));
    const status: JsonObject = { replicas: Number(at(t.scale.statusReplicasPath) ?? 0) };
    const selPath = t.scale.labelSelectorPath;
    if (selPath && typeof at(selPath) === 'string') status.selector = at(selPath) as string;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: m.name ?? null,
        ...(m.namespace ? { namespace: m.namespace } : {}),
        uid: m.uid ?? null,
        resourceVersion: m.resourceVersion ?? null,
        creationTimestamp: m.creationTimestamp ?? null,
      },
      spec: { replicas: Number(at(t.scale.specReplicasPath) ?? 0) },
      status,
    };
  }

  private updateScale(target: Target, scale: JsonObject, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    const old = this.getStored(t, target.namespace, name);
    if (!old || !t.scale) throw errors.notFound(groupResource(t), name);
    const next = clone(old);
    const rv = str(getIn(scale, ['metadata', 'resourceVersion']));
    meta(next).resourceVersion = rv ?? meta(old).resourceVersion ?? null;
    const path = t.scale.specReplicasPath.replace(/^\./, '').split('.');
    let cur = next;
    for (const p of path.slice(0, -1)) cur = cur[p] = objectOrEmpty(cur[p]);
    cur[path[path.length - 1] ?? 'replicas'] = Number(getIn(scale, ['spec', 'replicas']) ?? 0);
    const res = this.commitUpdate({ ...target, subresource: undefined }, old, next, opts);
    const stored = this.getStored(t, target.namespace, name) ?? old;
    return { code: res.code, body: this.scaleOf(target, stored) };
  }

  // --- delete -------------------------------------------------------------------------------------

  delete(target: Target, del: DeleteOptions, opts: WriteOptions): Result {
    const t = target.type;
    const name = target.name ?? '';
    const old = this.getStored(t, target.namespace, name);
    if (!old) throw errors.notFound(groupResource(t), name);
    const om = meta(old);
    const pre = del.preconditions;
    if (pre?.uid && pre.uid !== om.uid) {
      throw errors.conflict(
        groupResource(t),
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${str(om.uid) ?? ''}`,
      );
    }
    if (pre?.resourceVersion && pre.resourceVersion !== om.resourceVersion) {
      throw errors.conflict(
        groupResource(t),
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${str(om.resourceVersion) ?? ''}`,
      );
    }
    const next = clone(old);
    const nm = meta(next);
    let fins = finalizersOf(next);
    if (del.propagationPolicy === 'Foreground')
      fins = [...fins.filter((f) => f !== 'orphan'), 'foregroundDeletion'];
    if (del.propagationPolicy === 'Orphan')
      fins = [...fins.filter((f) => f !== 'foregroundDeletion'), 'orphan'];
    fins = [...new Set(fins)];
    if (fins.length) nm.finalizers = fins;

    if (om.deletionTimestamp) {
      if (!deepEqual(fins, finalizersOf(old)) && !opts.dryRun) {
        this.storage.put(t.storageKey, next);
        this.afterWrite();
      }
      return { code: 200, body: this.view(t, target.version, opts.dryRun ? old : next) };
    }
    if (fins.length > 0 || t.deletionBlocked?.(next)) {
      nm.deletionTimestamp = nowRfc3339();
      nm.deletionGracePeriodSeconds = 0;
      if (t.hasGeneration && typeof nm.generation === 'number') nm.generation += 1;
      t.onDeletionStarted?.(next);
      if (!opts.dryRun) {
        this.storage.put(t.storageKey, next);
        this.afterWrite();
      }
      return { code: 200, body: this.view(t, target.version, next) };
    }
    if (opts.dryRun) {
      return {
        code: 200,
        body: t.returnDeletedObject
          ? this.view(t, target.version, old)
          : successStatus(groupResource(t), name, str(om.uid) ?? ''),
      };
    }
    const last = this.storage.remove(t.storageKey, old);
    this.afterWrite();
    return {
      code: 200,
      body: t.returnDeletedObject
        ? this.view(t, target.version, last)
        : successStatus(groupResource(t), name, str(om.uid) ?? ''),
    };
  }

  deleteCollection(target: Target, q: ListQuery, del: DeleteOptions, opts: WriteOptions): Result {
    const t = target.type;
    const sel = this.parseSelectors(t, q);
    const victims = this.storage
      .list(t.storageKey, t.namespaced ? target.namespace : undefined)
      .filter((o) => this.matches(t, sel, o));
    const items: Json[] = [];
    for (const v of victims) {
      const m = meta(v);
      const res = this.delete({ ...target, namespace: str(m.namespace), name: str(m.name) }, del, opts);
      items.push(res.body.kind === 'Status' ? this.view(t, target.version, v) : res.body);
    }
    return {
      code: 200,
      body: {
        apiVersion: apiVersionOf(t.group, target.version),
        kind: t.listKind,
        metadata: { resourceVersion: String(this.storage.currentRv()) },
        items,
      },
    };
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

function applyConflict(conflicts: Array<{ manager: string; path: string }>): KubeError {
  return new KubeError(
    statusBody(409, 'Conflict', conflictMessage(conflicts), {
      causes: conflicts.map((c) => ({
        reason: 'FieldManagerConflict',
        message: `conflict with ${c.manager}`,
        field: c.path,
      })),
    }),
  );
}

/** The part of an apply configuration a (sub)resource endpoint honours. */
function scopeConfig(cfg: JsonObject, t: ResourceType, subresource: string | undefined): JsonObject {
  if (subresource === 'status') {
    const m = meta(cfg);
    const out: JsonObject = {
      apiVersion: cfg.apiVersion ?? null,
      kind: cfg.kind ?? null,
      metadata: { name: m.name ?? null },
    };
    if (m.namespace) meta(out).namespace = m.namespace;
    if (m.resourceVersion) meta(out).resourceVersion = m.resourceVersion;
    if (cfg.status !== undefined) out.status = cfg.status;
    return out;
  }
  if (t.statusSubresource) delete cfg.status;
  return cfg;
}

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

function slotKey(o: JsonObject): string {
  return `${str(getIn(o, ['metadata', 'namespace'])) ?? ''}/${str(getIn(o, ['metadata', 'name'])) ?? ''}`;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start })).toString('base64url');
}

function decodeContinue(token: string): { rv: number; start: string } {
  try {
    const o = JSON.parse(Buffer.from(token, 'base64url').toString()) as { rv?: unknown; start?: unknown };
    if (typeof o.rv === 'number' && typeof o.start === 'string') return { rv: o.rv, start: o.start };
  } catch {
    // fall through
  }
  throw errors.badRequest(`invalid continue token: ${token}`);
}
