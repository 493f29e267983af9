// CEL validation rules (`x-kubernetes-validations`) of custom resources, evaluated as the apiserver
// does after the OpenAPI checks: every rule on every node that has a value, `self` being that value
// (the whole object, metadata included, at the root), errors reported at the node's path as
// `Invalid value: "<type>": <message>` (`<nil>` for the root), appended to the schema's own errors.
// Transition rules (those using `oldSelf`) run only on updates where the old object has the node.
// Evaluation uses @marcbachmann/cel-js (core CEL; Kubernetes' extension libraries are not modelled).
import { evaluate } from '@marcbachmann/cel-js';
import { isObject, str } from './json.ts';
import type { Json, JsonObject } from './json.ts';
import type { FieldError } from './status.ts';

type Schema = JsonObject;

interface Rule {
  rule: string;
  message?: string;
}

function rulesOf(s: Schema): Rule[] {
  const v = s['x-kubernetes-validations'];
  if (!Array.isArray(v)) return [];
  return v.filter(isObject).map((r) => ({ rule: str(r.rule) ?? '', message: str(r.message) }));
}

/** The CEL type name the apiserver prints for the value a rule failed on. */
function celTypeName(v: Json): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  return typeof v;
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function check(
  value: Json,
  old: Json | undefined,
  s: Schema,
  path: string,
  errs: FieldError[],
  fieldPath: string,
): void {
  for (const r of rulesOf(s)) {
    const transition = /\boldSelf\b/.test(r.rule);
    if (transition && old === undefined) continue;
    let ok: unknown;
    let failure: string | undefined;
    try {
      ok = evaluate(r.rule, transition ? { self: value, oldSelf: old } : { self: value });
    } catch (e) {
      failure = (e as Error).message.split('\n')[0];
    }
    if (ok === true) continue;
    errs.push({
      type: 'Invalid',
      field: fieldPath || '<nil>',
      value: celTypeName(value),
      detail: failure ?? r.message ?? `failed rule: ${r.rule}`,
    });
  }
  walk(value, old, s, path, errs);
}

function walk(value: Json, old: Json | undefined, s: Schema, path: string, errs: FieldError[]): void {
  if (Array.isArray(value)) {
    const items = isObject(s.items) ? s.items : undefined;
    if (!items) return;
    // Old items are matched by position only for atomic lists; transition rules on list items are
    // out of scope here.
    value.forEach((v, i) => check(v, undefined, items, `${path}[${i}]`, errs, `${path}[${i}]`));
    return;
  }
  if (!isObject(value)) return;
  const props = isObject(s.properties) ? s.properties : undefined;
  const additional = isObject(s.additionalProperties) ? s.additionalProperties : undefined;
  for (const [k, v] of Object.entries(value)) {
    const ps = props && isObject(props[k]) ? props[k] : additional;
    if (!ps) continue;
    const o = isObject(old) ? (old[k] as Json | undefined) : undefined;
    const p = additional && !props?.[k] ? `${path}[${k}]` : child(path, k);
    check(v as Json, o, ps, p, errs, p);
  }
}

/** Errors of every failed `x-kubernetes-validations` rule in `obj` (a whole custom resource). */
export function celValidate(obj: JsonObject, schema: Schema, old?: JsonObject): FieldError[] {
  const errs: FieldError[] = [];
  check(obj, old, schema, '', errs, '');
  return errs;
}
