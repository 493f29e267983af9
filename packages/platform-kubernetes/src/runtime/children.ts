import { createHash, randomBytes } from 'node:crypto';
import type { Sandbox } from '@agenttier/contract';
import {
  API_VERSION,
  PlatformError,
  LABEL_MANAGED,
  LABEL_NAMESPACE,
  LABEL_SANDBOX,
  LABEL_SANDBOX_UID,
  LABEL_TEMPLATE,
} from '@agenttier/contract';
import type { V1OwnerReference } from '@kubernetes/client-node';

/** Deterministic names of a sandbox's children: the same sandbox always maps to the same objects. */
export function childNames(sandbox: Pick<Sandbox, 'metadata'>) {
  const n = sandbox.metadata.name;
  return {
    pod: `${n}-pod`,
    pvc: `${n}-workspace`,
    networkPolicy: `${n}-netpol`,
    serviceAccount: `${n}-sa`,
    tokenSecret: `${n}-sandboxd-token`,
  };
}

export type ChildNames = ReturnType<typeof childNames>;

export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_APP_NAME = 'app.kubernetes.io/name';
export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
/** Domains a NetworkPolicy allows; the refresher re-resolves them into ipBlocks. */
export const ANNOTATION_ALLOWED_DOMAINS = 'agenttier.io/allowed-domains';
export const ANNOTATION_RESOLVED_AT = 'agenttier.io/domains-resolved-at';
export const ANNOTATION_CREATED_BY = 'agenttier.io/created-by';

/** Labels on every child: how the controller finds them and how `kubectl get -l` selects them. */
export function childLabels(sandbox: Sandbox, templateName?: string): Record<string, string> {
  return {
    [LABEL_MANAGED]: 'true',
    [LABEL_SANDBOX]: sandbox.metadata.name,
    [LABEL_NAMESPACE]: sandbox.metadata.namespace ?? 'default',
    [LABEL_SANDBOX_UID]: sandbox.metadata.uid ?? '',
    [LABEL_APP_NAME]: 'agenttier-sandbox',
    [LABEL_MANAGED_BY]: 'agenttier-controller',
    ...(templateName ? { [LABEL_TEMPLATE]: templateName } : {}),
  };
}

/** The pod selector of one sandbox (its NetworkPolicy's podSelector). */
export function sandboxSelector(sandbox: Sandbox): Record<string, string> {
  return { [LABEL_SANDBOX]: sandbox.metadata.name, [LABEL_MANAGED]: 'true' };
}

/**
 * The controller reference that lets Kubernetes' garbage collector delete every child with its
 * Sandbox (and blocks foreground deletion of the Sandbox until they are gone).
 */
export function ownerReference(sandbox: Sandbox): V1OwnerReference {
  return {
    apiVersion: API_VERSION,
    kind: 'Sandbox',
    name: sandbox.metadata.name,
    uid: sandbox.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

type Owned = { metadata?: { ownerReferences?: V1OwnerReference[]; labels?: Record<string, string> } };

/** An owner reference to a Sandbox of this name (any incarnation): the exact API version we write. */
function sandboxRefNamed(r: V1OwnerReference, sandbox: Sandbox): boolean {
  return r.apiVersion === API_VERSION && r.kind === 'Sandbox' && r.name === sandbox.metadata.name;
}

/**
 * True when `obj` belongs to this incarnation of the sandbox: an owner reference to this Sandbox
 * (version, kind, name and uid). Labels prove nothing: anyone who can create the object can set them
 * (the `agenttier.io/sandbox-uid` label once counted, so an object labelled with a live sandbox's uid
 * was updated and deleted as the sandbox's own).
 */
export function ownedBy(obj: Owned, sandbox: Sandbox): boolean {
  const uid = sandbox.metadata.uid;
  if (!uid) return false;
  return (obj.metadata?.ownerReferences ?? []).some((r) => r.uid === uid && sandboxRefNamed(r, sandbox));
}

/**
 * Whose an object under one of a sandbox's child names is:
 * - `ours`: this sandbox's (an owner reference to it, see ownedBy);
 * - `stale`: every owner reference points to a Sandbox of this name with another uid, as the
 *   children of an earlier sandbox of the same name do. Names are unique, so that owner is gone and
 *   Kubernetes' garbage collector deletes the object; the controller waits for it and never deletes
 *   it itself (anyone can write such a reference on their own object);
 * - `foreign`: anything else (someone's own ServiceAccount, Secret, Pod, …). The controller never
 *   updates or deletes it, and reports the conflict instead.
 */
export function ownership(obj: Owned, sandbox: Sandbox): 'ours' | 'stale' | 'foreign' {
  if (ownedBy(obj, sandbox)) return 'ours';
  const refs = obj.metadata?.ownerReferences ?? [];
  return refs.length > 0 && refs.every((r) => sandboxRefNamed(r, sandbox)) ? 'stale' : 'foreign';
}

/** The message a sandbox reports while an object it does not own holds one of its child names. */
export function foreignObjectMessage(
  kind: string,
  namespace: string,
  name: string,
  sandbox: Sandbox,
): string {
  return (
    `${kind} ${namespace}/${name} already exists and does not belong to sandbox "${sandbox.metadata.name}"; ` +
    'AgentTier never modifies or deletes objects it does not own: remove or rename it, or choose another sandbox name'
  );
}

/**
 * An object the sandbox does not own holds one of its child names (ALREADY_EXISTS: the reconciler
 * keeps waiting, with backoff, for the name). Its own class so the controller can tell it from an
 * earlier sandbox's leftovers and say so where users look (a Warning Event on the Sandbox).
 */
export class ForeignChildError extends PlatformError {
  constructor(
    readonly childKind: string,
    readonly childNamespace: string,
    readonly childName: string,
    sandbox: Sandbox,
  ) {
    super('ALREADY_EXISTS', foreignObjectMessage(childKind, childNamespace, childName, sandbox));
  }
}

/** On a sandbox Pod: the SHA-256 of the sandboxd token it was started with (hex). */
export const ANNOTATION_TOKEN_SHA256 = 'agenttier.io/sandboxd-token-sha256';

/**
 * A fresh sandboxd bearer token (256 random bits). The controller makes one for every pod start and
 * writes it into the sandbox's own Secret; nothing install-wide derives it, so a leaked token (or the
 * sandbox reading its own) is worth one sandbox for one run.
 */
export function newSandboxdToken(): string {
  return randomBytes(32).toString('base64url');
}

/** What the pod annotation holds: lets the router tell which start a token belongs to without trusting the pod with it. */
export function tokenDigest(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
