// Known fields of built-in kinds, for unknown-field warnings and pruning (the real server decodes
// built-ins into Go structs, so unknown fields are dropped, with a Warning or, under
// fieldValidation=Strict, a 400). There is no OpenAPI document in this repository, but
// @kubernetes/client-node ships a model class per API type with its wire field names and types,
// which is enough to rebuild the field tree. (Its models follow a newer Kubernetes than 1.26, so a
// field added since then is accepted here: the check can only be more permissive.)
import * as k8s from '@kubernetes/client-node';
import type { JsonObject } from './json.ts';

interface Attribute {
  baseName: string;
  type: string;
}

type ModelClass = { getAttributeTypeMap?: () => Attribute[] };

const PRESERVE: JsonObject = { 'x-kubernetes-preserve-unknown-fields': true };
const cache = new Map<string, JsonObject>();

function schemaOfType(type: string): JsonObject {
  const t = type.trim();
  const array = /^Array<(.+)>$/.exec(t);
  if (array) return { type: 'array', items: schemaOfType(array[1] ?? 'any') };
  const map = /^\{ \[key: string\]: (.+); \}$/.exec(t);
  if (map) return { type: 'object', additionalProperties: schemaOfType(map[1] ?? 'any') };
  return modelSchema(t) ?? PRESERVE;
}

/** The field tree of a client-node model (e.g. `V1Deployment`), or undefined for scalars/unknown names. */
export function modelSchema(model: string): JsonObject | undefined {
  const cached = cache.get(model);
  if (cached) return cached;
  const cls = (k8s as unknown as Record<string, ModelClass | undefined>)[model];
  const attrs = typeof cls?.getAttributeTypeMap === 'function' ? cls.getAttributeTypeMap() : undefined;
  if (!attrs) return undefined;
  // Registered before recursing: some types are recursive (JSONSchemaProps).
  const properties: JsonObject = {};
  const schema: JsonObject = { type: 'object', properties };
  cache.set(model, schema);
  for (const a of attrs) properties[a.baseName] = schemaOfType(a.type);
  return schema;
}
