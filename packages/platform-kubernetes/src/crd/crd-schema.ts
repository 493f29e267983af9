import { z } from 'zod';
import {
  CLEAN_ABSOLUTE_PATH_PATTERN,
  LIMITS,
  bytesSchema,
  cpuSchema,
  durationSchema,
  memorySchema,
  mountPathCelRule,
  mountPathSchema,
} from '@agenttier/contract';

/** A node of a Kubernetes structural openAPIV3Schema (a JSON object). */
export type JsonSchema = { [key: string]: unknown };

/** A CEL rule with the message a real API server reports when it is false. */
export interface CelRule {
  rule: string;
  message: string;
}

/**
 * RE2 patterns equivalent to the contract's refine() checks, which zod cannot express in JSON Schema.
 * They let every API server (and our fake, which has no CEL) reject what the router rejects.
 * "Greater than zero" is approximated as "has a non-zero digit": "0.0001" CPU passes here and fails
 * in the router (it rounds to 0 millicores).
 */
const POSITIVE_NUMBER = '(0*[1-9][0-9]*(\\.[0-9]+)?|[0-9]*\\.[0-9]*[1-9][0-9]*)';
export const DURATION_PATTERN = '^(0|([0-9]+(\\.[0-9]+)?(ms|s|m|h))+)$';
export const CPU_PATTERN = `^${POSITIVE_NUMBER}m?$`;
export const BYTES_PATTERN = `^${POSITIVE_NUMBER}(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$`;

/**
 * Bounded lengths keep CEL cost estimates under the API server's per-CRD budget. `cel` adds what a
 * pattern cannot say (the limits table's maxima, floors and denylists); an API server without CEL (our
 * fake) enforces the pattern only.
 */
const REFINED: Array<{ schema: z.ZodType; pattern: string; maxLength: number; cel?: string }> = [
  {
    schema: durationSchema,
    pattern: DURATION_PATTERN,
    maxLength: 64,
    cel: `self == '0' || duration(self) <= duration('${LIMITS.durationMaxMs / 3_600_000}h')`,
  },
  { schema: cpuSchema, pattern: CPU_PATTERN, maxLength: 64 },
  { schema: bytesSchema, pattern: BYTES_PATTERN, maxLength: 64 },
  // The memory floor has no CEL rule: quantity() needs Kubernetes 1.29+, and CRDs must install on older
  // API servers. The router and the operator's planner check it (a pod below it fails to start anyway).
  { schema: memorySchema, pattern: BYTES_PATTERN, maxLength: 64 },
  { schema: mountPathSchema, pattern: CLEAN_ABSOLUTE_PATH_PATTERN, maxLength: 256, cel: mountPathCelRule() },
];
/** Strings that carry a CEL rule but have no maxLength in the contract get this one in the CRD. */
const CEL_STRING_MAX = 256;

const SAFE_INT = Number.MAX_SAFE_INTEGER;

interface CheckDef {
  check: string;
  error?: (issue: unknown) => unknown;
  minimum?: number;
  maximum?: number;
  format?: string;
  pattern?: RegExp;
}

function celString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The message the schema author wrote for a check, or undefined when zod's default applies. */
function customMessage(def: CheckDef): string | undefined {
  const msg = def.error?.({});
  return typeof msg === 'string' ? msg : undefined;
}

/**
 * CEL rules carrying the contract's own messages, so a real API server says what the router says.
 * `subject` is the CEL expression of the value (`self`, or `self.metadata.name` for a root rule).
 */
export function celRulesFor(schema: z.ZodType, subject = 'self'): CelRule[] {
  const zod = (schema as unknown as { _zod: { def: { checks?: Array<{ _zod: { def: CheckDef } }> } } })._zod;
  const rules: CelRule[] = [];
  for (const check of zod.def.checks ?? []) {
    const def = check._zod.def;
    const message = customMessage(def);
    if (!message) continue;
    if (def.check === 'min_length' && def.minimum !== undefined)
      rules.push({ rule: `size(${subject}) >= ${def.minimum}`, message });
    else if (def.check === 'max_length' && def.maximum !== undefined)
      rules.push({ rule: `size(${subject}) <= ${def.maximum}`, message });
    else if (def.check === 'string_format' && def.pattern)
      rules.push({ rule: `${subject}.matches(${celString(def.pattern.source)})`, message });
    else if (def.check === 'custom') {
      const refined = REFINED.find((r) => r.schema === schema);
      if (refined) {
        const matches = `${subject}.matches(${celString(refined.pattern)})`;
        const extra = refined.cel?.replaceAll('self', subject);
        rules.push({ rule: extra ? `${matches} && (${extra})` : matches, message });
      }
    }
  }
  return rules;
}

/**
 * Kubernetes structural-schema rules: no `additionalProperties` next to `properties`, no JSON-Schema
 * bookkeeping keys, and zod's safe-integer bounds dropped (they are implied by int64).
 */
function sanitize(node: JsonSchema): JsonSchema {
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(node)) {
    if (key === '$schema' || key === 'id' || key === '$id') continue;
    if (key === 'additionalProperties' && (value === false || node.properties)) continue;
    if (key === 'minimum' && value === -SAFE_INT) continue;
    if (key === 'maximum' && value === SAFE_INT) continue;
    if (key === 'properties' && value && typeof value === 'object') {
      out.properties = Object.fromEntries(
        Object.entries(value as Record<string, JsonSchema>).map(([k, v]) => [k, sanitize(v)]),
      );
    } else if ((key === 'items' || key === 'additionalProperties') && value && typeof value === 'object') {
      out[key] = sanitize(value as JsonSchema);
    } else {
      out[key] = value;
    }
  }
  return out;
}

/**
 * Converts a contract zod schema into a structural openAPIV3Schema: types, enums, patterns, lengths,
 * bounds, required lists and defaults from zod; patterns for the refine() checks; and CEL rules
 * (`x-kubernetes-validations`) with the contract's custom messages.
 */
export function zodToCrdSchema(schema: z.ZodType): JsonSchema {
  const json = z.toJSONSchema(schema, {
    io: 'input',
    target: 'openapi-3.0',
    unrepresentable: 'throw',
    override: (ctx) => {
      const node = ctx.jsonSchema as JsonSchema;
      const zodSchema = ctx.zodSchema as unknown as z.ZodType;
      const refined = REFINED.find((r) => r.schema === zodSchema);
      if (refined) {
        node.pattern = refined.pattern;
        node.maxLength = refined.maxLength;
      }
      const rules = celRulesFor(zodSchema);
      if (rules.length) {
        node['x-kubernetes-validations'] = rules;
        if (node.type === 'string' && node.maxLength === undefined) node.maxLength = CEL_STRING_MAX;
      }
    },
  }) as JsonSchema;
  return sanitize(json);
}

/** Lists every schema node that lacks a `type` (a structural-schema violation), as dotted paths. */
export function untypedNodes(node: JsonSchema, path = ''): string[] {
  const out: string[] = [];
  if (node['x-kubernetes-preserve-unknown-fields'] || node['x-kubernetes-int-or-string']) return out;
  if (typeof node.type !== 'string') out.push(path || '(root)');
  const props = node.properties as Record<string, JsonSchema> | undefined;
  for (const [k, v] of Object.entries(props ?? {})) out.push(...untypedNodes(v, path ? `${path}.${k}` : k));
  if (node.items) out.push(...untypedNodes(node.items as JsonSchema, `${path}[]`));
  if (node.additionalProperties && typeof node.additionalProperties === 'object') {
    out.push(...untypedNodes(node.additionalProperties as JsonSchema, `${path}{}`));
  }
  return out;
}
