// The three patch formats the apiserver applies itself (server-side apply lives in
// managed-fields.ts): RFC 6902 JSON patch, RFC 7386 merge patch, and strategic merge patch.
//
// Strategic merge patch is a subset: maps merge, lists merge by key where the built-in kind's Go
// struct says `patchStrategy:merge` (hints from builtin-types.ts: containers by name, env by name,
// finalizers as a set...), every other list is replaced. Supported directives: `$patch: replace |
// delete` on maps and list items, `$retainKeys`, `$deleteFromPrimitiveList/<field>`;
// `$setElementOrder/<field>` is accepted and ignored (the fake keeps the existing order).
import { clone, deepEqual, isObject, stableStringify } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { TypeHints } from './resource-type.ts';
import { errors } from './status.ts';

export class PatchApplyError extends Error {}

interface JsonPatchOp {
  op: string;
  path: string;
  from?: string;
  value?: Json;
}

/** Decodes a JSON-patch body; a non-array is the 400 the real server gives for `{...}` bodies. */
export function decodeJsonPatch(body: unknown): JsonPatchOp[] {
  if (!Array.isArray(body)) {
    const what = isObject(body) ? 'object' : typeof body === 'string' ? 'string' : 'number';
    throw errors.badRequest(`json: cannot unmarshal ${what} into Go value of type []handlers.jsonPatchOp`);
  }
  return body.map((op) => {
    if (!isObject(op) || typeof op.op !== 'string') {
      throw errors.badRequest('json: cannot unmarshal into Go value of type handlers.jsonPatchOp');
    }
    return op as unknown as JsonPatchOp;
  });
}

function parsePointer(p: string): string[] {
  if (p === '') return [];
  if (!p.startsWith('/')) throw new PatchApplyError(`invalid path: ${p}`);
  return p
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Json, segs: string[], op: string, path: string): [Json, string] {
  let cur: Json = doc;
  for (const s of segs.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[Number(s)] as Json;
    else if (isObject(cur)) cur = cur[s] as Json;
    else cur = undefined as unknown as Json;
    if (cur === undefined)
      throw new PatchApplyError(
        `${op} operation does not apply: doc is missing path: "${path}": missing value`,
      );
  }
  return [cur, segs[segs.length - 1] ?? ''];
}

function getPointer(doc: Json, path: string, op: string): Json {
  let cur: Json = doc;
  for (const s of parsePointer(path)) {
    const next: Json | undefined = Array.isArray(cur) ? cur[Number(s)] : isObject(cur) ? cur[s] : undefined;
    if (next === undefined)
      throw new PatchApplyError(
        `${op} operation does not apply: doc is missing path: "${path}": missing value`,
      );
    cur = next;
  }
  return cur;
}

function arrayIndex(arr: Json[], key: string, forInsert: boolean, op: string, path: string): number {
  if (forInsert && key === '-') return arr.length;
  if (!/^\d+$/.test(key))
    throw new PatchApplyError(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  const i = Number(key);
  if (i > arr.length || (!forInsert && i === arr.length)) {
    throw new PatchApplyError(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  }
  return i;
}

function addAt(doc: Json, path: string, value: Json, op: string): Json {
  const segs = parsePointer(path);
  if (segs.length === 0) return value;
  const [parent, key] = parentOf(doc, segs, op, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, true, op, path), 0, value);
  else if (isObject(parent)) parent[key] = value;
  else
    throw new PatchApplyError(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  return doc;
}

function removeAt(doc: Json, path: string, op: string): Json {
  const segs = parsePointer(path);
  const [parent, key] = parentOf(doc, segs, op, path);
  if (Array.isArray(parent)) parent.splice(arrayIndex(parent, key, false, op, path), 1);
  else if (isObject(parent) && key in parent) delete parent[key];
  else
    throw new PatchApplyError(
      `${op} operation does not apply: doc is missing path: "${path}": missing value`,
    );
  return doc;
}

export function applyJsonPatch(doc: Json, ops: JsonPatchOp[]): Json {
  let out = clone(doc);
  for (const o of ops) {
    switch (o.op) {
      case 'add':
        out = addAt(out, o.path, clone(o.value ?? null), 'add');
        break;
      case 'remove':
        out = removeAt(out, o.path, 'remove');
        break;
      case 'replace':
        getPointer(out, o.path, 'replace');
        out =
          o.path === ''
            ? clone(o.value ?? null)
            : addAt(removeAt(out, o.path, 'replace'), o.path, clone(o.value ?? null), 'replace');
        break;
      case 'move': {
        const v = getPointer(out, o.from ?? '', 'move');
        out = addAt(removeAt(out, o.from ?? '', 'move'), o.path, v, 'move');
        break;
      }
      case 'copy':
        out = addAt(out, o.path, clone(getPointer(out, o.from ?? '', 'copy')), 'copy');
        break;
      case 'test': {
        let actual: Json | undefined;
        try {
          actual = getPointer(out, o.path, 'test');
        } catch {
          actual = undefined;
        }
        if (!deepEqual(actual, o.value ?? null))
          throw new PatchApplyError(`testing value ${o.path} failed: test failed`);
        break;
      }
      default:
        throw new PatchApplyError(`Unexpected kind: ${o.op}`);
    }
  }
  return out;
}

export function applyMergePatch(target: Json | undefined, patch: Json): Json {
  if (!isObject(patch)) return clone(patch);
  const out: JsonObject = isObject(target) ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

export function applyStrategicMergePatch(target: Json | undefined, patch: Json, hints: TypeHints): Json {
  return smpValue(target, patch, hints, []);
}

function smpValue(target: Json | undefined, patch: Json, hints: TypeHints, path: string[]): Json {
  if (isObject(patch)) return smpMap(isObject(target) ? target : undefined, patch, hints, path);
  if (Array.isArray(patch)) return smpList(Array.isArray(target) ? target : undefined, patch, hints, path);
  return clone(patch);
}

function smpMap(
  target: JsonObject | undefined,
  patch: JsonObject,
  hints: TypeHints,
  path: string[],
): JsonObject {
  const directive = patch.$patch;
  if (directive === 'replace') return stripDirectives(patch);
  const out: JsonObject = target ? clone(target) : {};
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const field = k.slice('$deleteFromPrimitiveList/'.length);
      const cur = out[field];
      if (Array.isArray(cur) && Array.isArray(v))
        out[field] = cur.filter((x) => !v.some((d) => deepEqual(d, x)));
      continue;
    }
    if (v === null) {
      delete out[k];
      continue;
    }
    if (isObject(v) && v.$patch === 'delete') {
      delete out[k];
      continue;
    }
    out[k] = smpValue(out[k], v, hints, [...path, k]);
  }
  const retain = patch.$retainKeys;
  if (Array.isArray(retain)) {
    for (const k of Object.keys(out)) if (!retain.includes(k)) delete out[k];
  }
  return out;
}

function smpList(target: Json[] | undefined, patch: Json[], hints: TypeHints, path: string[]): Json[] {
  const kind = hints.listKind(path);
  if (patch.some((x) => isObject(x) && x.$patch === 'replace')) {
    return patch
      .filter((x) => !(isObject(x) && x.$patch === 'replace'))
      .map((x) => (isObject(x) ? stripDirectives(x) : x));
  }
  if (kind.type === 'set') {
    const out = target ? clone(target) : [];
    const seen = new Set(out.map(stableStringify));
    for (const x of patch) if (!seen.has(stableStringify(x))) out.push(clone(x));
    return out;
  }
  if (kind.type === 'map') {
    const key = kind.keys[0] ?? 'name';
    const out = target ? clone(target) : [];
    for (const item of patch) {
      if (!isObject(item)) continue;
      const idx = out.findIndex((x) => isObject(x) && deepEqual(x[key], item[key]));
      if (item.$patch === 'delete') {
        if (idx >= 0) out.splice(idx, 1);
      } else if (idx >= 0) {
        out[idx] = smpMap(out[idx] as JsonObject, item, hints, [...path, '*']);
      } else {
        out.push(stripDirectives(item));
      }
    }
    return out;
  }
  return patch.map((x) => (isObject(x) ? stripDirectives(x) : clone(x)));
}

function stripDirectives(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const [k, v] of Object.entries(o)) {
    if (k.startsWith('$')) continue;
    out[k] = isObject(v) ? stripDirectives(v) : clone(v);
  }
  return out;
}
