// The operator's behavioural suite against a real cluster, when one is provided (docs/kubernetes.md,
// "Testing against a real cluster"):
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=~/.kube/config npx vitest run --project integration operator-behaviour.real
// The controller runs in this process against the cluster's current context, in a namespace of its
// own; the images must be available to the nodes (kind: `kind load docker-image`).
import { describeOnRealCluster } from '@agenttier/testkit';
import { realOperatorCluster, runOperatorBehaviour } from '../testing/index.ts';

describeOnRealCluster('operator behaviour (real cluster)', () => {
  runOperatorBehaviour(() => realOperatorCluster(), {
    testTimeoutMs: 15 * 60_000,
    hookTimeoutMs: 10 * 60_000,
  });
});
