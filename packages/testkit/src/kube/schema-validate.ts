// openAPIV3Schema handling for custom resources, in the apiserver's order: prune unknown fields,
// apply defaults, then validate. Messages follow apiextensions-apiserver's translation of
// kube-openapi results into field errors (Required / Unsupported value / Invalid value: ... in body ...).
// CEL rules (x-kubernetes-validations) are not evaluated: see the package README of known gaps.
import { clone, deepEqual, isObject, stableStringify } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { FieldError } from './status.ts';

type Schema = JsonObject;

const OBJECT_META_FIELDS = new Set([
  'name',
  'generateName',
  'namespace',
  'selfLink',
  'uid',
  'resourceVersion',
  'generation',
  'creationTimestamp',
  'deletionTimestamp',
  'deletionGracePeriodSeconds',
  'labels',
  'annotations',
  'ownerReferences',
  'finalizers',
  'managedFields',
]);

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function sub(s: Schema, key: string): Schema | undefined {
  const v = s[key];
  return isObject(v) ? v : undefined;
}

function props(s: Schema): JsonObject | undefined {
  return sub(s, 'properties');
}

const preserves = (s: Schema) => s['x-kubernetes-preserve-unknown-fields'] === true;

/** Drops unknown ObjectMeta fields (they cannot be stored); returns their paths. */
function pruneMeta(meta: JsonObject, path: string, out: string[]): void {
  for (const k of Object.keys(meta)) {
    if (!OBJECT_META_FIELDS.has(k)) {
      delete meta[k];
      out.push(child(path, k));
    }
  }
}

/**
 * Removes fields the schema does not declare (unless x-kubernetes-preserve-unknown-fields) and
 * returns their paths, e.g. `spec.extra`, for the `unknown field` warning or strict error.
 */
export function pruneUnknown(obj: JsonObject, schema: Schema): string[] {
  const out: string[] = [];
  const meta = obj.metadata;
  if (isObject(meta)) pruneMeta(meta, 'metadata', out);
  pruneNode(obj, schema, '', out, true);
  return out;
}

function pruneNode(value: Json, s: Schema, path: string, out: string[], rootLike: boolean): void {
  if (Array.isArray(value)) {
    const items = sub(s, 'items');
    value.forEach((v, i) => {
      if (items) pruneNode(v, items, `${path}[${i}]`, out, false);
      else if (!preserves(s) && (isObject(v) || Array.isArray(v)))
        pruneNode(v, {}, `${path}[${i}]`, out, false);
    });
    return;
  }
  if (!isObject(value)) return;
  const embedded = s['x-kubernetes-embedded-resource'] === true;
  const keepMeta = rootLike || embedded;
  const p = props(s);
  const additional = s.additionalProperties;
  for (const k of Object.keys(value)) {
    const v = value[k] as Json;
    if (keepMeta && (k === 'apiVersion' || k === 'kind')) continue;
    if (keepMeta && k === 'metadata') {
      if (embedded && isObject(v)) pruneMeta(v, child(path, k), out);
      continue;
    }
    const ps = p ? sub(p, k) : undefined;
    if (ps) {
      pruneNode(v, ps, child(path, k), out, false);
    } else if (isObject(additional)) {
      pruneNode(v, additional, child(path, k), out, false);
    } else if (additional === true || preserves(s)) {
      // kept as-is
    } else {
      delete value[k];
      out.push(child(path, k));
    }
  }
}

/** Applies `default`s where a property is absent (or null and not nullable), outside in. */
export function applyDefaults(value: Json, s: Schema): void {
  if (Array.isArray(value)) {
    const items = sub(s, 'items');
    if (items) value.forEach((v) => applyDefaults(v, items));
    return;
  }
  if (!isObject(value)) return;
  const p = props(s);
  if (p) {
    for (const [k, ps] of Object.entries(p)) {
      if (!isObject(ps)) continue;
      const cur = value[k];
      if (cur === null && ps.nullable !== true) {
        if (ps.default !== undefined) value[k] = clone(ps.default);
        else delete value[k];
      } else if (cur === undefined && ps.default !== undefined) {
        value[k] = clone(ps.default);
      }
      if (value[k] !== undefined) applyDefaults(value[k] as Json, ps);
    }
  }
  const additional = s.additionalProperties;
  if (isObject(additional)) {
    for (const k of Object.keys(value)) if (!p || !(k in p)) applyDefaults(value[k] as Json, additional);
  }
}

function jsonType(v: Json): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function typeMatches(type: string, v: Json): boolean {
  switch (type) {
    case 'object':
      return isObject(v);
    case 'array':
      return Array.isArray(v);
    case 'string':
      return typeof v === 'string';
    case 'integer':
      return typeof v === 'number' && Number.isInteger(v);
    case 'number':
      return typeof v === 'number';
    case 'boolean':
      return typeof v === 'boolean';
    default:
      return true;
  }
}

function runeLength(s: string): number {
  return [...s].length;
}

/** Validates `value` (the whole object at the root) and returns field errors in the server's wording. */
export function validateAgainstSchema(value: Json, schema: Schema): FieldError[] {
  const errs: FieldError[] = [];
  // The root's apiVersion/kind/metadata are checked by the generic code, not by the schema.
  if (isObject(value)) {
    const rootless = { ...value };
    delete rootless.apiVersion;
    delete rootless.kind;
    delete rootless.metadata;
    validateNode(rootless, schema, '', errs, true);
  } else {
    validateNode(value, schema, '', errs, true);
  }
  return errs;
}

function invalid(errs: FieldError[], path: string, value: Json, msg: string): void {
  errs.push({ type: 'Invalid', field: path, value, detail: `${path} in body ${msg}` });
}

function validateNode(v: Json, s: Schema, path: string, errs: FieldError[], root = false): void {
  if (v === null) {
    if (s.nullable === true) return;
    if (typeof s.type === 'string' && s.type !== '') {
      errs.push({
        type: 'TypeInvalid',
        field: path,
        value: 'null',
        detail: `${path} in body must be of type ${s.type}: "null"`,
      });
    }
    return;
  }
  const intOrString = s['x-kubernetes-int-or-string'] === true;
  if (intOrString) {
    if (!(typeof v === 'string' || (typeof v === 'number' && Number.isInteger(v)))) {
      const t = jsonType(v);
      errs.push({
        type: 'TypeInvalid',
        field: path,
        value: t,
        detail: `${path} in body must be of type integer,string: "${t}"`,
      });
      return;
    }
  } else if (typeof s.type === 'string' && s.type !== '' && !typeMatches(s.type, v)) {
    const t = jsonType(v);
    errs.push({
      type: 'TypeInvalid',
      field: path,
      value: t,
      detail: `${path} in body must be of type ${s.type}: "${t}"`,
    });
    return;
  }
  if (Array.isArray(s.enum) && !s.enum.some((e) => deepEqual(e, v))) {
    errs.push({
      type: 'NotSupported',
      field: path,
      value: v,
      supported: s.enum.map((e) => (typeof e === 'string' ? e : JSON.stringify(e))),
    });
  }
  if (typeof v === 'string') {
    if (typeof s.maxLength === 'number' && runeLength(v) > s.maxLength) {
      errs.push({ type: 'TooLong', field: path, value: v, detail: `may not be longer than ${s.maxLength}` });
    }
    if (typeof s.minLength === 'number' && runeLength(v) < s.minLength) {
      invalid(errs, path, v, `should be at least ${s.minLength} chars long`);
    }
    if (typeof s.pattern === 'string' && !new RegExp(s.pattern, 'u').test(v)) {
      invalid(errs, path, v, `should match '${s.pattern}'`);
    }
    if (s.format === 'date-time' && Number.isNaN(Date.parse(v))) {
      invalid(errs, path, v, `must be of type date-time: "${v}"`);
    }
  }
  if (typeof v === 'number') {
    if (typeof s.minimum === 'number') {
      if (s.exclusiveMinimum === true ? v <= s.minimum : v < s.minimum) {
        invalid(
          errs,
          path,
          v,
          `should be greater than ${s.exclusiveMinimum === true ? '' : 'or equal to '}${s.minimum}`,
        );
      }
    }
    if (typeof s.maximum === 'number') {
      if (s.exclusiveMaximum === true ? v >= s.maximum : v > s.maximum) {
        invalid(
          errs,
          path,
          v,
          `should be less than ${s.exclusiveMaximum === true ? '' : 'or equal to '}${s.maximum}`,
        );
      }
    }
    if (typeof s.multipleOf === 'number' && s.multipleOf > 0 && !Number.isInteger(v / s.multipleOf)) {
      invalid(errs, path, v, `should be a multiple of ${s.multipleOf}`);
    }
  }
  if (Array.isArray(v)) validateArray(v, s, path, errs);
  if (isObject(v)) validateObject(v, s, path, errs, root);
  validateCombinators(v, s, path, errs);
}

function validateArray(v: Json[], s: Schema, path: string, errs: FieldError[]): void {
  if (typeof s.maxItems === 'number' && v.length > s.maxItems) {
    errs.push({ type: 'TooMany', field: path, detail: `must have at most ${s.maxItems} items` });
  }
  if (typeof s.minItems === 'number' && v.length < s.minItems)
    invalid(errs, path, v.length, `should have at least ${s.minItems} items`);
  const items = sub(s, 'items');
  if (items) v.forEach((x, i) => validateNode(x, items, `${path}[${i}]`, errs));
  const listType = s['x-kubernetes-list-type'];
  if (listType === 'set' || listType === 'map') {
    const keys = Array.isArray(s['x-kubernetes-list-map-keys'])
      ? (s['x-kubernetes-list-map-keys'] as string[])
      : [];
    const seen = new Set<string>();
    v.forEach((x, i) => {
      const id =
        listType === 'set'
          ? stableStringify(x)
          : stableStringify(keys.map((k) => (isObject(x) ? (x[k] ?? null) : null)));
      if (seen.has(id)) {
        const shown: Json =
          listType === 'set'
            ? x
            : Object.fromEntries(keys.map((k) => [k, isObject(x) ? (x[k] ?? null) : null]));
        errs.push({ type: 'Duplicate', field: `${path}[${i}]`, value: shown });
      }
      seen.add(id);
    });
  }
}

function validateObject(v: JsonObject, s: Schema, path: string, errs: FieldError[], root: boolean): void {
  const n = Object.keys(v).length;
  if (typeof s.maxProperties === 'number' && n > s.maxProperties) {
    errs.push({ type: 'TooMany', field: path, detail: `must have at most ${s.maxProperties} items` });
  }
  if (typeof s.minProperties === 'number' && n < s.minProperties)
    invalid(errs, path, n, `should have at least ${s.minProperties} properties`);
  if (Array.isArray(s.required)) {
    for (const r of s.required) {
      if (typeof r !== 'string') continue;
      if (root && (r === 'apiVersion' || r === 'kind' || r === 'metadata')) continue;
      if (v[r] === undefined) errs.push({ type: 'Required', field: child(path, r) });
    }
  }
  const p = props(s);
  if (p) {
    for (const [k, ps] of Object.entries(p)) {
      if (root && (k === 'apiVersion' || k === 'kind' || k === 'metadata')) continue;
      if (v[k] !== undefined && isObject(ps)) validateNode(v[k] as Json, ps, child(path, k), errs);
    }
  }
  const additional = s.additionalProperties;
  if (isObject(additional)) {
    for (const [k, x] of Object.entries(v))
      if (!p || !(k in p)) validateNode(x, additional, child(path, k), errs);
  }
}

function quietlyValid(v: Json, s: Schema, path: string): boolean {
  const e: FieldError[] = [];
  validateNode(v, s, path, e);
  return e.length === 0;
}

function validateCombinators(v: Json, s: Schema, path: string, errs: FieldError[]): void {
  if (Array.isArray(s.allOf)) for (const a of s.allOf) if (isObject(a)) validateNode(v, a, path, errs);
  if (Array.isArray(s.anyOf)) {
    const subs = s.anyOf.filter(isObject);
    if (subs.length && !subs.some((a) => quietlyValid(v, a, path)))
      invalid(errs, path, v, 'must validate at least one schema (anyOf)');
  }
  if (Array.isArray(s.oneOf)) {
    const subs = s.oneOf.filter(isObject);
    if (subs.length && subs.filter((a) => quietlyValid(v, a, path)).length !== 1) {
      invalid(errs, path, v, 'must validate one and only one schema (oneOf)');
    }
  }
  if (isObject(s.not) && quietlyValid(v, s.not, path))
    invalid(errs, path, v, 'must not validate the schema (not)');
}

// --- Structural-schema checks at CRD create/update -----------------------------------------------

const FORBIDDEN_IN_JUNCTORS = [
  'type',
  'default',
  'additionalProperties',
  'nullable',
  'x-kubernetes-preserve-unknown-fields',
];

/** The rules of "structural schemas" (apiextensions validation), reported under `prefix`. */
export function validateStructural(schema: Json | undefined, prefix: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!isObject(schema)) return [{ type: 'Required', field: prefix, detail: 'schemas are required' }];
  if (!schema.type)
    errs.push({ type: 'Required', field: `${prefix}.type`, detail: 'must not be empty at the root' });
  else if (schema.type !== 'object') {
    errs.push({
      type: 'Invalid',
      field: `${prefix}.type`,
      value: schema.type,
      detail: 'must be object at the root',
    });
  }
  const meta = isObject(schema.properties) ? schema.properties.metadata : undefined;
  if (isObject(meta)) {
    const extra = Object.keys(meta).filter((k) => k !== 'type' && k !== 'properties');
    const mprops = isObject(meta.properties) ? Object.keys(meta.properties) : [];
    if (extra.length || mprops.some((k) => k !== 'name' && k !== 'generateName')) {
      errs.push({
        type: 'Forbidden',
        field: `${prefix}.properties[metadata]`,
        detail:
          'must not specify anything other than name and generateName, but metadata is implicitly specified',
      });
    }
  }
  walkStructural(schema, prefix, errs, 'root');
  return errs;
}

function walkStructural(s: Schema, path: string, errs: FieldError[], where: 'root' | 'field' | 'item'): void {
  const loose =
    s['x-kubernetes-int-or-string'] === true || s['x-kubernetes-preserve-unknown-fields'] === true;
  if (where !== 'root' && !s.type && !loose) {
    errs.push({
      type: 'Required',
      field: `${path}.type`,
      detail:
        where === 'item'
          ? 'must not be empty for specified array items'
          : 'must not be empty for specified object fields',
    });
  }
  if (s.type === 'array' && !isObject(s.items))
    errs.push({ type: 'Required', field: `${path}.items`, detail: 'must be specified' });
  if (isObject(s.properties) && s.additionalProperties !== undefined && s.additionalProperties !== false) {
    errs.push({
      type: 'Forbidden',
      field: `${path}.additionalProperties`,
      detail: 'additionalProperties and properties are mutual exclusive',
    });
  }
  if (s.uniqueItems === true) {
    errs.push({
      type: 'Forbidden',
      field: `${path}.uniqueItems`,
      detail: 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic',
    });
  }
  if (s['x-kubernetes-list-type'] === 'map' && !Array.isArray(s['x-kubernetes-list-map-keys'])) {
    errs.push({
      type: 'Required',
      field: `${path}.x-kubernetes-list-map-keys`,
      detail: 'must not be empty if x-kubernetes-list-type is map',
    });
  }
  if (s.default !== undefined) {
    const dErrs: FieldError[] = [];
    validateNode(s.default, s, 'default', dErrs);
    for (const e of dErrs) errs.push({ ...e, field: `${path}.${e.field}` });
  }

  if (isObject(s.properties)) {
    for (const [k, ps] of Object.entries(s.properties)) {
      if (isObject(ps) && !(where === 'root' && k === 'metadata'))
        walkStructural(ps, `${path}.properties[${k}]`, errs, 'field');
    }
  }
  if (isObject(s.items)) walkStructural(s.items, `${path}.items`, errs, 'item');
  if (isObject(s.additionalProperties))
    walkStructural(s.additionalProperties, `${path}.additionalProperties`, errs, 'field');
  for (const j of ['allOf', 'anyOf', 'oneOf'] as const) {
    const list = s[j];
    if (!Array.isArray(list)) continue;
    list.forEach((x, i) => {
      if (!isObject(x)) return;
      for (const f of FORBIDDEN_IN_JUNCTORS) {
        if (x[f] !== undefined)
          errs.push({
            type: 'Forbidden',
            field: `${path}.${j}[${i}].${f}`,
            detail: 'must be empty to be structural',
          });
      }
    });
  }
}

/** The sub-schema at a path of field names (`*` = list item or map value), for list-type hints. */
export function schemaAt(schema: Schema | undefined, path: readonly string[]): Schema | undefined {
  let cur: Schema | undefined = schema;
  for (const seg of path) {
    if (!cur) return undefined;
    if (seg === '*') {
      cur = sub(cur, 'items') ?? sub(cur, 'additionalProperties');
    } else {
      const p = props(cur);
      cur = (p ? sub(p, seg) : undefined) ?? sub(cur, 'additionalProperties');
    }
  }
  return cur;
}
