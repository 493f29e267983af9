// The operator's behavioural suite against a real cluster, when one is provided (docs/kubernetes.md,
// "Testing against a real cluster"):
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=~/.kube/config npx vitest run --project integration operator-behaviour.real
// The controller runs in this process against the cluster's current context, in a namespace of its
// own; the images must be available to the nodes (kind: `kind load docker-image`).
import { describe, it } from 'vitest';
import { runOperatorBehaviour } from './operator-behaviour.ts';
import { realClusterSkipReason, realOperatorCluster } from './operator-cluster.ts';

const reason = realClusterSkipReason();

if (reason) {
  console.info(`[operator behaviour] skipping the real-cluster run: ${reason}`);
  describe('operator behaviour (real cluster)', () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  runOperatorBehaviour(() => realOperatorCluster(), {
    testTimeoutMs: 15 * 60_000,
    hookTimeoutMs: 10 * 60_000,
  });
}
