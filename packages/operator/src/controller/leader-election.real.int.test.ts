// Leader election against a real API server (scripts/kube.sh: v1.26.1 and v1.32.13; any cluster:
// AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration leader-election.real).
import { KubeConfig } from '@kubernetes/client-node';
import { describe, it } from 'vitest';
import { realClusterSkipReason } from '../e2e/operator-cluster.ts';
import { leaderElectionSuite } from './leader-election-suite.ts';

const reason = realClusterSkipReason();
if (reason) {
  console.info(`[leader election] skipping the real-server run: ${reason}`);
  describe('leader election (real server)', () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  leaderElectionSuite(async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { kubeConfig: kc };
  });
}
