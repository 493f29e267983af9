import type { V1EnvFromSource, V1Secret, V1Volume, V1VolumeMount } from '@kubernetes/client-node';
import type { CredentialRef, Sandbox } from '@agenttier/contract';
import { credentialEnvNameOk } from '@agenttier/core';

/**
 * A Secret may be handed to sandboxes only when it says so with this label: a namespace holds other
 * Secrets too (every sandbox's sandboxd token, ServiceAccount tokens, other applications'), and
 * anyone who can create a sandbox there must not be able to mount them.
 */
export const LABEL_CREDENTIAL = 'agenttier.io/credential';
/** With this annotation, only sandboxes created by that user id may use the Secret. */
export const ANNOTATION_CREDENTIAL_OWNER = 'agenttier.io/credential-owner';

/** Pod volume name of the i-th credential (a DNS label whatever the Secret's name). */
const volumeName = (i: number) => `cred-${i}`;

/**
 * The pod's side of `credentials`: `envFrom` entries (each key as `envPrefix + KEY`; the container's
 * own `env` still wins over them, so a Secret cannot replace the platform's variables) and one secret
 * volume per file credential, read-only at its directory, files 0440 root:1000 (fsGroup) on the
 * kubelet's tmpfs. The kubelet reads the Secrets; neither the operator nor the router copies values.
 */
export function credentialPodParts(credentials: readonly CredentialRef[]): {
  envFrom: V1EnvFromSource[];
  volumes: V1Volume[];
  mounts: V1VolumeMount[];
} {
  const envFrom: V1EnvFromSource[] = [];
  const volumes: V1Volume[] = [];
  const mounts: V1VolumeMount[] = [];
  credentials.forEach((c, i) => {
    if ((c.mountAs ?? 'env') === 'env') {
      envFrom.push({ secretRef: { name: c.secretName }, ...(c.envPrefix ? { prefix: c.envPrefix } : {}) });
      return;
    }
    if (!c.mountPath) return;
    volumes.push({ name: volumeName(i), secret: { secretName: c.secretName, defaultMode: 0o440 } });
    mounts.push({ name: volumeName(i), mountPath: c.mountPath, readOnly: true });
  });
  return { envFrom, volumes, mounts };
}

/**
 * Why a Secret may not be given to this sandbox through this credential, or undefined: it must exist,
 * be labelled for sandboxes, not be the platform's own, belong to the sandbox's creator when it names
 * one, and (as env) have keys that make variable names. Only metadata and key names are looked at.
 */
export function credentialSecretProblem(
  sandbox: Sandbox,
  ref: CredentialRef,
  secret: V1Secret | undefined,
): string | undefined {
  const ns = sandbox.metadata.namespace ?? 'default';
  const name = ref.secretName;
  const labelHint = `kubectl label secret ${name} -n ${ns} ${LABEL_CREDENTIAL}=true`;
  if (!secret)
    return `Secret "${name}" not found in namespace "${ns}"; create it and label it (${labelHint}), then resume the sandbox`;
  const labels = secret.metadata?.labels ?? {};
  if (
    labels['agenttier.io/managed'] === 'true' ||
    labels['agenttier.io/secret-purpose'] ||
    (secret.type ?? 'Opaque') !== 'Opaque'
  ) {
    return `Secret "${name}" is not a credential a sandbox may use (it belongs to the platform or is not of type Opaque)`;
  }
  if (labels[LABEL_CREDENTIAL] !== 'true') {
    return `Secret "${name}" in namespace "${ns}" is not labelled for sandboxes; if it is meant for them: ${labelHint}`;
  }
  const owner = secret.metadata?.annotations?.[ANNOTATION_CREDENTIAL_OWNER];
  if (owner !== undefined && owner !== sandbox.spec.createdBy?.sub) {
    return `Secret "${name}" in namespace "${ns}" is another user's (annotation ${ANNOTATION_CREDENTIAL_OWNER})`;
  }
  if ((ref.mountAs ?? 'env') === 'env') {
    const keys = [...Object.keys(secret.data ?? {}), ...Object.keys(secret.stringData ?? {})];
    const bad = keys.filter((k) => !credentialEnvNameOk(`${ref.envPrefix ?? ''}${k}`));
    if (bad.length) {
      return `Secret "${name}" has keys that cannot be environment variable names (${bad.join(', ')}); mount it with mountAs "file" or rename the keys`;
    }
  }
  return undefined;
}
