// The Kubernetes platform's public surface: what the operator (controller, router, install) and its
// tests use. Everything else is internal to this package; add a name here when another package needs it.
export { CRD_KINDS, buildCrd, crdFileName } from './crd/crds.ts';
export type { CelRule, JsonSchema } from './crd/crd-schema.ts';
export { isAlreadyExists, isConflict, isNotFound, kubeStatusOf, withRetry } from './kube/api-errors.ts';
export { loadKubeConfig } from './kube/kube-config.ts';
export { KubernetesStore } from './store/kubernetes-store.ts';
export type { KubernetesStoreOpts } from './store/kubernetes-store.ts';
export { withChildNamesInStatus, withChildNamesOnRead } from './store/status-names.ts';
export {
  ANNOTATION_TOKEN_SHA256,
  ForeignChildError,
  childNames,
  newSandboxdToken,
  ownedBy,
  ownerReference,
  tokenDigest,
} from './runtime/children.ts';
export type { DomainResolver } from './runtime/domain-resolver.ts';
export { DomainRefresher } from './runtime/domain-refresher.ts';
export { KubernetesRuntime } from './runtime/kubernetes-runtime.ts';
export type { KubernetesRuntimeOpts } from './runtime/kubernetes-runtime.ts';
export { DEFAULT_DNS, parseCidr } from './runtime/network-policy.ts';
export type { DnsPeer, RouterPeer } from './runtime/network-policy.ts';
export { SANDBOXD_PORT, SANDBOX_POD_SECURITY_LEVELS, buildPod } from './runtime/pod-builder.ts';
export type { PodBuildInput, SandboxPodSecurity } from './runtime/pod-builder.ts';
export { SandboxPodCache } from './runtime/sandbox-pod-cache.ts';
export type { SandboxPodCacheOpts } from './runtime/sandbox-pod-cache.ts';
export type { PodScheduling } from './runtime/pod-builder.ts';
export { renderInstallManifests } from './install/install-manifests.ts';
export type { InstallOpts } from './install/install-manifests.ts';
export { applyInstallManifests } from './install/apply.ts';
export type { ApplyOpts } from './install/apply.ts';
export { CONTROLLER_CALLS, ROUTER_CALLS, allows, rulesFor } from './rbac/rbac.ts';
export type { ApiCall, PolicyRule } from './rbac/rbac.ts';
