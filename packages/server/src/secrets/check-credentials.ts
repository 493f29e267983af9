import type { FieldIssue } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { EffectiveSandbox, SecretStore } from '@agenttier/core';
import { credentialEnvNameOk, credentialProblems } from '@agenttier/core';

/**
 * A create's merged credentials, checked before anything is stored: where files go (400), and, with a
 * secret store, that every referenced secret is one of the caller's in the sandbox's namespace and that
 * each key an env credential gives makes a variable name (422). Another user's secret of the same name
 * is "not found": the lookup is by the caller's id, so it is never even seen.
 */
export async function checkCredentials(
  effective: Pick<EffectiveSandbox, 'credentials' | 'storage'>,
  opts: { owner: string; namespace: string; secrets?: SecretStore },
): Promise<void> {
  const shape = credentialProblems(effective);
  if (shape.length > 0) {
    throw new PlatformError(
      'VALIDATION_FAILED',
      `invalid sandbox: ${shape.map((d) => `${d.field} ${d.message}`).join('; ')}`,
      { details: shape },
    );
  }
  const secrets = opts.secrets;
  if (!secrets) return;
  const missing: FieldIssue[] = [];
  for (const [i, ref] of (effective.credentials ?? []).entries()) {
    const meta = await secrets.get(opts.owner, opts.namespace, ref.secretName);
    const field = `credentials.${i}.secretName`;
    if (!meta) {
      missing.push({
        field,
        rule: 'exists',
        message: `secret "${ref.secretName}" is not one of your secrets in namespace "${opts.namespace}"; create it with \`agenttier secret create ${ref.secretName} --namespace ${opts.namespace} --from-literal KEY=value\``,
      });
      continue;
    }
    if ((ref.mountAs ?? 'env') !== 'env') continue;
    const bad = meta.keys.filter((k) => !credentialEnvNameOk(`${ref.envPrefix ?? ''}${k}`));
    if (bad.length > 0) {
      missing.push({
        field,
        rule: 'env_name',
        message: `secret "${ref.secretName}" has keys that cannot be environment variable names or are the platform's own AGENTTIER_ variables (${bad.join(', ')}); mount it with mountAs "file" or rename the keys`,
      });
    }
  }
  if (missing.length > 0) {
    throw new PlatformError('UNPROCESSABLE', missing.map((d) => `${d.field}: ${d.message}`).join('; '), {
      details: missing,
    });
  }
}
