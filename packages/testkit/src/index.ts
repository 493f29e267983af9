// Test support shared by packages: the port behaviour suites and their in-memory implementations,
// eventually(), and the real-cluster gate. The fake kube-apiserver is `@agenttier/testkit/kube`,
// Chromium `@agenttier/testkit/browser`, the OpenID provider `@agenttier/testkit/oidc`.
export { runStoreContract } from './store-contract.ts';
export { runRuntimeContract } from './runtime-contract.ts';
export type { RuntimeContractTarget } from './runtime-contract.ts';
export { MemoryStore } from './memory-store.ts';
export type { MemoryStoreOpts } from './memory-store.ts';
export { MemoryRuntime } from './memory-runtime.ts';
export type {
  MemoryChild,
  MemoryRuntimeOpts,
  MemoryVolume,
  MemoryWorkload,
  RuntimeCall,
  RuntimeOp,
} from './memory-runtime.ts';
export { eventually } from './eventually.ts';
export { describeOnRealCluster, realClusterSkipReason } from './real-cluster.ts';
export type { RealClusterSuiteOpts } from './real-cluster.ts';
