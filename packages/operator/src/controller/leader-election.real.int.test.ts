// Leader election against a real API server (scripts/kube.sh: v1.26.1 and v1.32.13; any cluster:
// AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration leader-election.real).
import { KubeConfig } from '@kubernetes/client-node';
import { describeOnRealCluster } from '@agenttier/testkit';
import { leaderElectionSuite } from '../testing/index.ts';

describeOnRealCluster('leader election (real server)', () => {
  leaderElectionSuite(async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { kubeConfig: kc };
  });
});
