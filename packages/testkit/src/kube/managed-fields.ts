// Field ownership (metadata.managedFields) and server-side apply, modelled on
// sigs.k8s.io/structured-merge-diff: every manager owns a set of field paths; an Update (PUT, patch,
// create) takes the fields it added or changed from everyone else; an Apply conflicts with other
// owners of fields whose value it would change (unless force), and drops fields it owned before
// but no longer applies (unless someone else owns them too).
//
// Lists are atomic unless the type says otherwise (x-kubernetes-list-type map/set for CRDs, the Go
// struct tags for built-ins via TypeHints). Paths print the way the apiserver prints them in
// conflicts: `.spec.size`, `.spec.ports[name="https"]`, `.spec.tags[="b"]`.
import { clone, deepEqual, isObject, stableStringify } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { SchemaPath, TypeHints } from './resource-type.ts';

export type Seg = { f: string } | { k: JsonObject } | { v: Json };
type FieldMap = Map<string, { segs: Seg[]; fp: string | null }>;

export interface ManagedEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time: string;
  subresource?: string;
  set: Map<string, Seg[]>;
}

export interface Conflict {
  manager: string;
  path: string;
}

// Fields the apiserver never tracks (fieldmanager's stripMeta).
const STRIPPED_META = new Set([
  'name',
  'namespace',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'managedFields',
  'selfLink',
]);

export function segString(s: Seg): string {
  if ('f' in s) return `.${s.f}`;
  if ('k' in s) {
    return `[${Object.keys(s.k)
      .sort()
      .map((k) => `${k}=${JSON.stringify(s.k[k])}`)
      .join(',')}]`;
  }
  return `[=${JSON.stringify(s.v)}]`;
}
export function pathString(segs: readonly Seg[]): string {
  return segs.map(segString).join('');
}

function schemaPathOf(segs: readonly Seg[]): string[] {
  return segs.map((s) => ('f' in s ? s.f : '*'));
}

/** The key of a list-map item; key fields with a schema default count with that default. */
function keyOf(
  item: Json,
  kind: { keys: string[]; defaults?: Record<string, Json> },
): JsonObject | undefined {
  if (!isObject(item)) return undefined;
  const k: JsonObject = {};
  let any = false;
  for (const name of kind.keys) {
    if (item[name] !== undefined) {
      k[name] = item[name] as Json;
      any = true;
    } else if (kind.defaults?.[name] !== undefined) {
      k[name] = kind.defaults[name] as Json;
    }
  }
  return any ? k : undefined;
}

/**
 * Every tracked path in `value`. In `apply` mode (the set a configuration claims) maps are not
 * members themselves; in `compare` mode they are, so that an Update that creates a map owns it.
 */
function collect(value: Json, hints: TypeHints, segs: Seg[], out: FieldMap, mode: 'apply' | 'compare'): void {
  const spath: SchemaPath = schemaPathOf(segs);
  const add = (fp: string | null) => out.set(pathString(segs), { segs, fp });
  if (isObject(value)) {
    const keys = Object.keys(value);
    if (segs.length > 0 && (keys.length === 0 || hints.mapAtomic(spath))) {
      add(stableStringify(value));
      return;
    }
    if (
      segs.length > 0 &&
      mode === 'compare' &&
      !(segs.length === 1 && 'f' in segs[0]! && segs[0].f === 'metadata')
    )
      add(null);
    for (const k of keys) {
      if (segs.length === 0 && (k === 'apiVersion' || k === 'kind')) continue;
      if (segs.length === 1 && 'f' in segs[0]! && segs[0].f === 'metadata' && STRIPPED_META.has(k)) continue;
      collect(value[k] as Json, hints, [...segs, { f: k }], out, mode);
    }
    return;
  }
  if (Array.isArray(value)) {
    const kind = hints.listKind(spath);
    if (kind.type === 'set' && value.every((x) => !isObject(x) && !Array.isArray(x))) {
      if (mode === 'compare') add(null);
      for (const x of value)
        out.set(pathString([...segs, { v: x }]), { segs: [...segs, { v: x }], fp: 'item' });
      return;
    }
    if (kind.type === 'map') {
      const ks = value.map((x) => keyOf(x, kind));
      if (ks.every((k) => k !== undefined)) {
        if (mode === 'compare') add(null);
        value.forEach((item, i) => {
          const itemSegs = [...segs, { k: ks[i]! }];
          out.set(pathString(itemSegs), { segs: itemSegs, fp: null });
          for (const [f, v] of Object.entries(item as JsonObject))
            collect(v, hints, [...itemSegs, { f }], out, mode);
        });
        return;
      }
    }
    add(stableStringify(value));
    return;
  }
  add(stableStringify(value));
}

export function fieldMap(obj: JsonObject, hints: TypeHints, mode: 'apply' | 'compare'): FieldMap {
  const out: FieldMap = new Map();
  collect(obj, hints, [], out, mode);
  return out;
}

interface Comparison {
  changed: Map<string, Seg[]>;
  removed: Map<string, Seg[]>;
}

function compare(before: FieldMap, after: FieldMap): Comparison {
  const changed = new Map<string, Seg[]>();
  const removed = new Map<string, Seg[]>();
  for (const [k, v] of after) {
    const b = before.get(k);
    if (!b || b.fp !== v.fp) changed.set(k, v.segs);
  }
  for (const [k, v] of before) if (!after.has(k)) removed.set(k, v.segs);
  return { changed, removed };
}

// --- FieldsV1 encoding ---------------------------------------------------------------------------

function segKey(s: Seg): string {
  if ('f' in s) return `f:${s.f}`;
  if ('k' in s) return `k:${stableStringify(s.k)}`;
  return `v:${JSON.stringify(s.v)}`;
}

function parseSegKey(key: string): Seg | undefined {
  const kind = key.slice(0, 2);
  const rest = key.slice(2);
  try {
    if (kind === 'f:') return { f: rest };
    if (kind === 'k:') return { k: JSON.parse(rest) as JsonObject };
    if (kind === 'v:') return { v: JSON.parse(rest) as Json };
  } catch {
    return undefined;
  }
  return undefined;
}

export function encodeFieldsV1(set: Map<string, Seg[]>): JsonObject {
  const root: JsonObject = {};
  for (const segs of set.values()) {
    let node = root;
    for (const s of segs) {
      const k = segKey(s);
      let next = node[k];
      if (!isObject(next)) {
        next = {};
        node[k] = next;
      }
      node = next;
    }
    node['.'] = {};
  }
  // A member without children is written `{}`, with children it carries `".": {}`.
  const finish = (n: JsonObject): JsonObject => {
    const keys = Object.keys(n).filter((k) => k !== '.');
    if (keys.length === 0) return {};
    const out: JsonObject = {};
    if ('.' in n) out['.'] = {};
    for (const k of keys.sort()) out[k] = finish(n[k] as JsonObject);
    return out;
  };
  return finish(root);
}

export function decodeFieldsV1(fields: Json | undefined): Map<string, Seg[]> {
  const out = new Map<string, Seg[]>();
  const walk = (n: JsonObject, segs: Seg[]) => {
    const keys = Object.keys(n);
    if (segs.length > 0 && (keys.length === 0 || '.' in n)) out.set(pathString(segs), segs);
    for (const k of keys) {
      if (k === '.') continue;
      const s = parseSegKey(k);
      const child = n[k];
      if (s && isObject(child)) walk(child, [...segs, s]);
    }
  };
  if (isObject(fields)) walk(fields, []);
  return out;
}

function entryId(e: Pick<ManagedEntry, 'manager' | 'operation' | 'apiVersion' | 'subresource'>): string {
  return JSON.stringify([
    e.manager,
    e.operation,
    e.operation === 'Update' ? e.apiVersion : '',
    e.subresource ?? '',
  ]);
}

export function decodeManagedFields(v: Json | undefined): ManagedEntry[] {
  if (!Array.isArray(v)) return [];
  const out: ManagedEntry[] = [];
  for (const e of v) {
    if (!isObject(e) || typeof e.manager !== 'string') continue;
    out.push({
      manager: e.manager,
      operation: e.operation === 'Apply' ? 'Apply' : 'Update',
      apiVersion: typeof e.apiVersion === 'string' ? e.apiVersion : '',
      time: typeof e.time === 'string' ? e.time : '',
      subresource: typeof e.subresource === 'string' && e.subresource ? e.subresource : undefined,
      set: decodeFieldsV1(e.fieldsV1),
    });
  }
  return out;
}

export function encodeManagedFields(entries: ManagedEntry[]): Json[] {
  const sorted = [...entries].sort(
    (a, b) =>
      a.operation.localeCompare(b.operation) ||
      a.time.localeCompare(b.time) ||
      a.manager.localeCompare(b.manager) ||
      a.apiVersion.localeCompare(b.apiVersion) ||
      (a.subresource ?? '').localeCompare(b.subresource ?? ''),
  );
  return sorted.map((e) => {
    const o: JsonObject = {
      manager: e.manager,
      operation: e.operation,
      apiVersion: e.apiVersion,
      time: e.time,
      fieldsType: 'FieldsV1',
      fieldsV1: encodeFieldsV1(e.set),
    };
    if (e.subresource) o.subresource = e.subresource;
    return o;
  });
}

/** What conflict messages call a manager: `"node" using example.com/v1` for Update managers. */
export function describeManager(e: ManagedEntry): string {
  let s = JSON.stringify(e.manager);
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion}`;
  return s;
}

export interface OwnershipScope {
  /** Paths outside the scope are neither owned nor compared (status vs main resource). */
  includes(segs: readonly Seg[]): boolean;
}

function scoped(m: FieldMap, scope: OwnershipScope): FieldMap {
  const out: FieldMap = new Map();
  for (const [k, v] of m) if (scope.includes(v.segs)) out.set(k, v);
  return out;
}

function liveEntries(obj: JsonObject | undefined): ManagedEntry[] {
  return decodeManagedFields(isObject(obj?.metadata) ? obj.metadata.managedFields : undefined);
}

/**
 * Ownership after a non-apply write by `manager`. A request that rewrites managedFields itself
 * (different from the live value) replaces them; `[{}]` clears them, as on the real server.
 */
export function managedFieldsAfterUpdate(args: {
  old: JsonObject | undefined;
  next: JsonObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
  hints: TypeHints;
  scope: OwnershipScope;
  now: string;
}): Json[] {
  const oldMf = isObject(args.old?.metadata) ? args.old.metadata.managedFields : undefined;
  const nextMf = isObject(args.next.metadata) ? args.next.metadata.managedFields : undefined;
  let entries = liveEntries(args.old);
  if (Array.isArray(nextMf) && nextMf.length > 0 && !deepEqual(nextMf, oldMf ?? [])) {
    entries = decodeManagedFields(nextMf);
    if (entries.length === 0) return [];
  }
  const before = scoped(args.old ? fieldMap(args.old, args.hints, 'compare') : new Map(), args.scope);
  const after = scoped(fieldMap(args.next, args.hints, 'compare'), args.scope);
  const { changed, removed } = compare(before, after);
  const me: ManagedEntry = {
    manager: args.manager,
    operation: 'Update',
    apiVersion: args.apiVersion,
    time: args.now,
    subresource: args.subresource,
    set: new Map(),
  };
  const myId = entryId(me);
  const result: ManagedEntry[] = [];
  for (const e of entries) {
    if (entryId(e) === myId) {
      me.set = new Map(e.set);
      me.time = e.time;
      continue;
    }
    for (const k of changed.keys()) e.set.delete(k);
    for (const k of removed.keys()) e.set.delete(k);
    if (e.set.size > 0) result.push(e);
  }
  if (changed.size > 0 || removed.size > 0) me.time = args.now;
  for (const [k, v] of changed) me.set.set(k, v);
  for (const k of removed.keys()) me.set.delete(k);
  if (me.set.size > 0) result.push(me);
  return encodeManagedFields(result);
}

// --- Apply ---------------------------------------------------------------------------------------

function mergeValue(live: Json | undefined, config: Json, hints: TypeHints, segs: Seg[]): Json {
  const spath = schemaPathOf(segs);
  if (isObject(config)) {
    if (!isObject(live) || hints.mapAtomic(spath)) return clone(config);
    const out = clone(live);
    for (const [k, v] of Object.entries(config)) out[k] = mergeValue(out[k], v, hints, [...segs, { f: k }]);
    return out;
  }
  if (Array.isArray(config) && Array.isArray(live)) {
    const kind = hints.listKind(spath);
    if (kind.type === 'set') {
      const out = clone(live);
      const seen = new Set(out.map(stableStringify));
      for (const x of config) if (!seen.has(stableStringify(x))) out.push(clone(x));
      return out;
    }
    if (kind.type === 'map' && config.every((x) => keyOf(x, kind)) && live.every((x) => keyOf(x, kind))) {
      const out = clone(live);
      for (const item of config) {
        const key = keyOf(item, kind)!;
        const idx = out.findIndex((x) => deepEqual(keyOf(x, kind), key));
        if (idx >= 0) out[idx] = mergeValue(out[idx], item, hints, [...segs, { k: key }]);
        else out.push(clone(item));
      }
      return out;
    }
  }
  return clone(config);
}

function isPrefix(prefix: readonly Seg[], segs: readonly Seg[]): boolean {
  return prefix.length <= segs.length && prefix.every((s, i) => segString(s) === segString(segs[i]!));
}

function removePath(obj: JsonObject, segs: readonly Seg[]): void {
  let cur: Json = obj;
  for (let i = 0; i < segs.length; i++) {
    const s = segs[i]!;
    const last = i === segs.length - 1;
    if ('f' in s) {
      if (!isObject(cur)) return;
      if (last) delete cur[s.f];
      else cur = cur[s.f] as Json;
    } else if (Array.isArray(cur)) {
      const idx =
        'k' in s
          ? cur.findIndex((x) => isObject(x) && Object.entries(s.k).every(([k, v]) => deepEqual(x[k], v)))
          : cur.findIndex((x) => deepEqual(x, s.v));
      if (idx < 0) return;
      if (last) cur.splice(idx, 1);
      else cur = cur[idx] as Json;
    } else {
      return;
    }
    if (cur === undefined) return;
  }
}

export type ApplyResult = { ok: true; object: JsonObject } | { ok: false; conflicts: Conflict[] };

/** Server-side apply of `config` by `manager` onto `live` (use an empty shell for create). */
export function serverSideApply(args: {
  live: JsonObject;
  config: JsonObject;
  manager: string;
  apiVersion: string;
  subresource?: string;
  force: boolean;
  hints: TypeHints;
  scope: OwnershipScope;
  now: string;
}): ApplyResult {
  const { hints, scope } = args;
  const entries = liveEntries(args.live);
  const configSet = scoped(fieldMap(args.config, hints, 'apply'), scope);
  const merged = mergeValue(args.live, args.config, hints, []) as JsonObject;
  const { changed } = compare(
    scoped(fieldMap(args.live, hints, 'compare'), scope),
    scoped(fieldMap(merged, hints, 'compare'), scope),
  );
  const me: ManagedEntry = {
    manager: args.manager,
    operation: 'Apply',
    apiVersion: args.apiVersion,
    time: args.now,
    subresource: args.subresource,
    set: new Map(),
  };
  const myId = entryId(me);
  let lastSet = new Map<string, Seg[]>();
  const conflicts: Conflict[] = [];
  const others: ManagedEntry[] = [];
  for (const e of entries) {
    if (entryId(e) === myId) {
      lastSet = e.set;
      continue;
    }
    for (const [k, segs] of e.set) {
      if (!changed.has(k)) continue;
      if (args.force) e.set.delete(k);
      else conflicts.push({ manager: describeManager(e), path: pathString(segs) });
    }
    others.push(e);
  }
  if (conflicts.length > 0) return { ok: false, conflicts };

  // Drop what this manager applied last time and no longer does, unless someone else owns it.
  const stillOwned: Seg[][] = [...configSet.values()].map((v) => v.segs);
  for (const e of others) stillOwned.push(...e.set.values());
  for (const [k, segs] of lastSet) {
    if (configSet.has(k)) continue;
    if (stillOwned.some((o) => isPrefix(segs, o))) continue;
    removePath(merged, segs);
  }
  for (const [k, v] of configSet) me.set.set(k, v.segs);
  const result = others.filter((e) => e.set.size > 0);
  if (me.set.size > 0) result.push(me);
  const meta = isObject(merged.metadata) ? merged.metadata : {};
  meta.managedFields = encodeManagedFields(result);
  merged.metadata = meta;
  return { ok: true, object: merged };
}

export function conflictMessage(conflicts: Conflict[]): string {
  if (conflicts.length === 1) {
    const c = conflicts[0]!;
    return `Apply failed with 1 conflict: conflict with ${c.manager}: ${c.path}`;
  }
  const byManager = new Map<string, string[]>();
  for (const c of conflicts) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), c.path]);
  const lines: string[] = [];
  for (const m of [...byManager.keys()].sort()) {
    lines.push(`conflicts with ${m}:`);
    for (const p of byManager.get(m) ?? []) lines.push(`- ${p}`);
  }
  return `Apply failed with ${conflicts.length} conflicts: ${lines.join('\n')}`;
}
