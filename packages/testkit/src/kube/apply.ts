// Server-side apply requests (application/apply-patch+yaml): fieldManager required, the
// configuration checked against the URL, unknown fields pruned, then merged by field ownership
// (managed-fields.ts) and written through the normal create or update path.
import { clone, isObject, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import { conflictMessage, serverSideApply } from './managed-fields.ts';
import { modelSchema } from './builtin-schema.ts';
import { meta } from './object-meta.ts';
import { apiVersionOf, groupResource } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';
import type { Rest, Result, Target, WriteOptions } from './rest.ts';
import { pruneUnknown } from './schema-validate.ts';
import { errors, KubeError, statusBody } from './status.ts';
import { nowRfc3339 } from './time.ts';

export function applyConfiguration(rest: Rest, target: Target, raw: unknown, opts: WriteOptions): Result {
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
  const newer = t.newerFields?.(config, rest.emulatedMinor) ?? [];
  if (newer.length) {
    // structured-merge-diff's typed conversion fails before anything else: a 500 without a reason.
    const gvk = `${want}, Kind=${t.kind}`;
    const each = newer.map((f) => `${f.applyPath}: field not declared in schema`);
    // One error is printed as is; several as an "errors:" list, one per indented line.
    const lines = each.length === 1 ? ` ${each[0]}` : ` errors:${each.map((e) => `\n  ${e}`).join('')}`;
    throw new KubeError({
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: `failed to create typed patch object (${target.namespace ?? ''}/${name}; ${gvk}):${lines}`,
      code: 500,
    });
  }
  let cfg = rest.fromView(t, config);
  rest.checkNamespace(target, cfg);
  const schema = t.isCustom ? t.schemaFor?.(target.version) : t.model ? modelSchema(t.model) : undefined;
  if (schema) rest.reportUnknownFields(pruneUnknown(cfg, schema), opts);
  cfg = scopeConfig(cfg, t, target.subresource);
  const apiVersion = want;
  const old = rest.getStored(t, target.namespace, name);
  const now = nowRfc3339();
  const scope = rest.ownershipScope(t, target.subresource);
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
    return rest.create(target, rest.view(t, target.version, res.object), opts, { managedFields });
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
  return rest.commitUpdate(target, old, res.object, opts, managed);
}

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
