// Accessors for metadata on untyped objects.
import { isObject } from './json.ts';
import type { JsonObject } from './json.ts';

export function meta(o: JsonObject): JsonObject {
  const m = o.metadata;
  if (isObject(m)) return m;
  const created: JsonObject = {};
  o.metadata = created;
  return created;
}

export function finalizersOf(o: JsonObject): string[] {
  const f = meta(o).finalizers;
  return Array.isArray(f) ? f.filter((x): x is string => typeof x === 'string') : [];
}
