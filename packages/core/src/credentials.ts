import type { CredentialRef, FieldIssue } from '@agenttier/contract';
import { ENV_NAME_RE, LIMITS } from '@agenttier/contract';
import type { EffectiveSandbox } from './template-merge.ts';

const inside = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

/**
 * What is wrong with a sandbox's merged credentials, one issue per problem (empty when none). Checked
 * at create (400) and again before a start (the template may have changed since):
 * - a file credential is never mounted at or under the workspace, nor the workspace under it: the
 *   workspace is the sandbox's to write, and the engine would create the mount point inside it (a
 *   place the sandbox controls, following whatever it planted there);
 * - no two file credentials share a directory or nest (one would hide the other);
 * - the merged list stays bounded.
 * `field` names `credentials[i]` of the merged list (template chain first, then the sandbox's own).
 */
export function credentialProblems(
  effective: Pick<EffectiveSandbox, 'credentials' | 'storage'>,
): FieldIssue[] {
  const out: FieldIssue[] = [];
  const list = effective.credentials ?? [];
  if (list.length > LIMITS.credentialsMergedMax) {
    out.push({
      field: 'credentials',
      rule: 'max_items',
      message: `the template chain and the sandbox give ${list.length} credentials together; at most ${LIMITS.credentialsMergedMax} are allowed`,
    });
  }
  const workspace = effective.storage.mountPath;
  const files: Array<{ i: number; path: string }> = [];
  list.forEach((c, i) => {
    if ((c.mountAs ?? 'env') !== 'file' || !c.mountPath) return;
    const field = `credentials.${i}.mountPath`;
    if (inside(c.mountPath, workspace) || inside(workspace, c.mountPath)) {
      out.push({
        field,
        rule: 'workspace',
        message: `${c.mountPath} overlaps the workspace (${workspace}): credential files go outside it, e.g. /credentials/${c.secretName}`,
      });
    }
    const other = files.find((f) => inside(c.mountPath!, f.path) || inside(f.path, c.mountPath!));
    if (other) {
      out.push({
        field,
        rule: 'overlap',
        message: `${c.mountPath} overlaps credentials.${other.i}.mountPath (${other.path}); give each file credential its own directory`,
      });
    }
    files.push({ i, path: c.mountPath });
  });
  return out;
}

/**
 * Whether `name` may be set from a secret: a variable name, and not one of the platform's own
 * (`AGENTTIER_…`: sandboxd's socket, token and roots are passed that way, and which of two equal names
 * a program sees depends on how it reads its environment).
 */
export function credentialEnvNameOk(name: string): boolean {
  return ENV_NAME_RE.test(name) && !name.startsWith('AGENTTIER_');
}

/**
 * The environment a credential's secret gives: `envPrefix + KEY` for each key. A key that cannot be a
 * variable name (`tls.crt`) is an error naming it, never skipped: a missing variable is found late.
 */
export function credentialEnv(
  ref: CredentialRef,
  values: ReadonlyMap<string, Uint8Array>,
): { env: Array<{ name: string; value: string }>; badKeys: string[] } {
  const env: Array<{ name: string; value: string }> = [];
  const badKeys: string[] = [];
  for (const [key, value] of values) {
    const name = `${ref.envPrefix ?? ''}${key}`;
    if (!credentialEnvNameOk(name)) badKeys.push(key);
    else env.push({ name, value: Buffer.from(value).toString('utf8') });
  }
  return { env, badKeys };
}
