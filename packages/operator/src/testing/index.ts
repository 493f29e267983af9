// Test support of @agenttier/operator: fake and real clusters with the operator's processes on them,
// and the behaviour suites the fake and real runs share. Only tests import this.
export {
  startClusterWithController,
  startFakeCluster,
  startTestController,
  startTestRouter,
} from './fake-cluster.ts';
export type { OperatorCluster } from './operator-cluster.ts';
export { fakeOperatorCluster, realOperatorCluster } from './operator-cluster.ts';
export { runOperatorBehaviour } from './operator-behaviour.ts';
export { leaderElectionSuite } from './leader-election-suite.ts';
export { startApiKubelet } from './api-kubelet.ts';
export { useRealRouterStack } from './real-router-stack.ts';
export type { RealRouterStack, RealRouterStackOpts } from './real-router-stack.ts';
export { createOwnedCredential } from './credential-secret.ts';
