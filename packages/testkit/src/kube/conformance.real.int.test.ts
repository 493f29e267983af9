// The conformance suite against a real API server, when one is provided:
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=~/.kube/config npx vitest run --project integration conformance.real
// It needs permission to create namespaces and CRDs, and a running kube-controller-manager (GC,
// namespace and serviceaccount controllers). Divergences from the fake are bugs in the fake.
import { KubeConfig } from '@kubernetes/client-node';
import { describe } from 'vitest';
import { describeOnRealCluster } from '../real-cluster.ts';
import { runKubeConformance } from './conformance.ts';

describeOnRealCluster('kube conformance (real server)', () => {
  describe('kube conformance (real server)', () => {
    runKubeConformance(
      () => {
        const kc = new KubeConfig();
        kc.loadFromDefault();
        return { kubeConfig: kc, kubeconfigPath: process.env.KUBECONFIG?.split(':')[0] ?? '' };
      },
      { eventuallyMs: 60_000 },
    );
  });
});
