import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { PlatformError } from './errors.ts';
import { labelValueProblem, qualifiedKeyProblem } from './limits.ts';

/**
 * JSON merge patch (RFC 7396) for the string maps of a PATCH body (labels, annotations): a string
 * sets the key, `null` removes it, keys not named stay. Only a key that is set is checked against the
 * map's rules; removing a key that does not exist is a no-op, so a malformed key given with `null`
 * cannot exist and is not an error.
 */
function stringMapPatchSchema(problemOf: (key: string, value: string) => string | undefined) {
  return z.record(z.string(), z.string().nullable()).superRefine((patch, ctx) => {
    for (const [key, value] of Object.entries(patch)) {
      if (value === null) continue;
      const problem = problemOf(key, value);
      if (problem) ctx.addIssue({ code: 'custom', path: [key], message: problem });
    }
  });
}

export const labelsPatchSchema = stringMapPatchSchema(
  (k, v) => qualifiedKeyProblem(k) ?? labelValueProblem(v),
);
export const annotationsPatchSchema = stringMapPatchSchema((k) => qualifiedKeyProblem(k));

/** `current` with `patch` merged in (RFC 7396 for one flat map): `null` removes, strings set. */
export function applyStringMapPatch(
  current: Readonly<Record<string, string>> | undefined,
  patch: Readonly<Record<string, string | null>>,
): Record<string, string> {
  const out: Record<string, string> = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key];
    else out[key] = value;
  }
  return out;
}

/**
 * Refuses `null` anywhere in a merge-patch body except where `mayBeNull` allows it, one field issue
 * each. RFC 7396 would read `{"timeout": null}` as "remove the timeout", but these fields have no
 * "unset" (the sandbox always has a value), so a null there is refused by name rather than guessed at.
 */
export function refuseMisplacedNulls(
  body: unknown,
  what: string,
  mayBeNull: (path: readonly string[]) => boolean,
): void {
  const issues: FieldIssue[] = [];
  const walk = (value: unknown, path: string[]): void => {
    if (value === null) {
      if (!mayBeNull(path))
        issues.push({
          field: path.join('.') || '(body)',
          rule: 'null_not_allowed',
          message:
            'may not be null: only label and annotation values may be null (to remove that key); leave the field out to keep it',
        });
      return;
    }
    if (Array.isArray(value)) value.forEach((v, i) => walk(v, [...path, String(i)]));
    else if (typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, [...path, k]);
  };
  walk(body, []);
  if (issues.length === 0) return;
  const summary = issues.map((d) => `${d.field} ${d.message}`).join('; ');
  throw new PlatformError('VALIDATION_FAILED', `invalid ${what}: ${summary}`, { details: issues });
}
