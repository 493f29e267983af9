import type { ACCESS_MODES, Sandbox } from '@agenttier/contract';
import type { EffectiveSandbox } from '@agenttier/core';
import type { V1PersistentVolumeClaim, V1Secret, V1ServiceAccount } from '@kubernetes/client-node';
import { childLabels, childNames, ownerReference } from './children.ts';

export type AccessMode = (typeof ACCESS_MODES)[number];

function meta(sandbox: Sandbox, name: string, templateName?: string) {
  return {
    name,
    namespace: sandbox.metadata.namespace ?? 'default',
    labels: childLabels(sandbox, templateName),
    ownerReferences: [ownerReference(sandbox)],
  };
}

/** The workspace claim: created once, never resized or replaced (stop/resume re-attach it). */
export function buildPvc(
  sandbox: Sandbox,
  effective: EffectiveSandbox,
  accessMode: AccessMode = 'ReadWriteOnce',
): V1PersistentVolumeClaim {
  return {
    apiVersion: 'v1',
    kind: 'PersistentVolumeClaim',
    metadata: meta(sandbox, childNames(sandbox).pvc, effective.templateName),
    spec: {
      accessModes: [accessMode],
      resources: { requests: { storage: effective.storage.size } },
      // Unset (not "") means the cluster's default StorageClass.
      ...(effective.storage.storageClass ? { storageClassName: effective.storage.storageClass } : {}),
    },
  };
}

/** An identity with no permissions and no token in the pod: the sandbox cannot talk to the API server. */
/**
 * The sandbox's own ServiceAccount, without a token mounted. `annotations` are the template's
 * `serviceAccount.annotations` (workload identity: EKS IRSA's webhook, GKE and Azure read them).
 */
export function buildServiceAccount(
  sandbox: Sandbox,
  annotations?: Record<string, string>,
): V1ServiceAccount {
  const m = meta(sandbox, childNames(sandbox).serviceAccount);
  return {
    apiVersion: 'v1',
    kind: 'ServiceAccount',
    metadata: {
      ...m,
      ...(annotations && Object.keys(annotations).length ? { annotations: { ...annotations } } : {}),
    },
    automountServiceAccountToken: false,
  };
}

/**
 * sandboxd's bearer token for one pod start, mounted read-only into the sandbox container. Only the
 * controller writes it; the router reads this one Secret when it first talks to the pod.
 */
export function buildTokenSecret(sandbox: Sandbox, token: string): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      ...meta(sandbox, childNames(sandbox).tokenSecret),
      labels: { ...childLabels(sandbox), 'agenttier.io/secret-purpose': 'sandboxd-token' },
    },
    type: 'Opaque',
    stringData: { token },
  };
}
