import type { FieldIssue } from './errors.ts';
import { PlatformError } from './errors.ts';

/**
 * The seed product's own spellings of sandbox fields, and what becomes of each. Its tutorials and
 * clients send flat `resources: {cpu, memory}` and `maxRuntime`; we map them onto our fields before
 * validation, so they take effect rather than being dropped. Seed fields we cannot honour are refused
 * by name with the reason below (never stored and silently ignored).
 */
export const SEED_FIELD_REFUSALS: Readonly<Record<string, string>> = {
  ephemeralStorage:
    'is not supported: the root filesystem is read-only and /tmp counts against the workspace; size it with storage.size',
  serviceAccount:
    'is a template field (serviceAccount.annotations, for workload identity on Kubernetes); a sandbox cannot set it, and a template cannot name another service account (each sandbox gets its own)',
  configMapRef: 'is not supported: give the text inline as content',
  secretRef: 'is not supported: give the text inline as content',
};

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function conflict(field: string, other: string): PlatformError {
  const details: FieldIssue[] = [
    { field, rule: 'conflict', message: `conflicts with ${other}: give one of the two (they mean the same)` },
  ];
  return new PlatformError('VALIDATION_FAILED', `invalid sandbox: ${field} conflicts with ${other}`, {
    details,
  });
}

/**
 * A create or PATCH body with the seed product's aliases moved onto our fields: `maxRuntime` →
 * `timeout`, `resources.cpu`/`resources.memory` → `resources.limits.cpu`/`.memory` (the seed's flat
 * values are the caps the sandbox runs with). The same value given both ways is accepted; two
 * different values are refused. Returns a copy; anything that is not an object is returned as is.
 */
export function mapSeedSandboxFields(body: unknown): unknown {
  if (!isObject(body)) return body;
  const out: Json = { ...body };
  if ('maxRuntime' in out) {
    if ('timeout' in out && out.timeout !== out.maxRuntime) throw conflict('maxRuntime', 'timeout');
    out.timeout = out.maxRuntime;
    delete out.maxRuntime;
  }
  if (isObject(out.resources) && ('cpu' in out.resources || 'memory' in out.resources)) {
    const resources: Json = { ...out.resources };
    const limits: Json = isObject(resources.limits) ? { ...resources.limits } : {};
    for (const key of ['cpu', 'memory'] as const) {
      if (!(key in resources)) continue;
      if (key in limits && limits[key] !== resources[key])
        throw conflict(`resources.${key}`, `resources.limits.${key}`);
      limits[key] = resources[key];
      delete resources[key];
    }
    resources.limits = limits;
    out.resources = resources;
  }
  return out;
}

/**
 * Fields of `input` that validation dropped from `output`: zod's plain objects strip unknown keys
 * (nested ones included), which would otherwise accept `resources: {ephemeralStorage}` with 201 and
 * forget it. One issue per field, with the reason when it is a seed field we refuse.
 */
export function droppedFields(input: unknown, output: unknown, prefix = ''): FieldIssue[] {
  const at = (k: string) => (prefix ? `${prefix}.${k}` : k);
  if (Array.isArray(input) && Array.isArray(output))
    return input.flatMap((v, i) => droppedFields(v, output[i], at(String(i))));
  if (!isObject(input) || !isObject(output)) return [];
  return Object.keys(input).flatMap((k) =>
    k in output
      ? droppedFields(input[k], output[k], at(k))
      : [
          {
            field: at(k),
            rule: 'unrecognized_keys',
            message: SEED_FIELD_REFUSALS[k] ?? 'is not a known field',
          },
        ],
  );
}
