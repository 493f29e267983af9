// The conformance suite against a real API server, when one is provided:
//   AGENTTIER_REAL_KUBE=1 KUBECONFIG=~/.kube/config npx vitest run --project integration conformance.real
// It needs permission to create namespaces and CRDs, and a running kube-controller-manager (GC,
// namespace and serviceaccount controllers). Divergences from the fake are bugs in the fake.
import { KubeConfig } from '@kubernetes/client-node';
import { describe, it } from 'vitest';
import { runKubeConformance } from './conformance.ts';

const kubeconfig = process.env.KUBECONFIG?.split(':')[0];
const enabled = process.env.AGENTTIER_REAL_KUBE === '1' && !!kubeconfig;
const reason = !kubeconfig
  ? 'KUBECONFIG is not set'
  : process.env.AGENTTIER_REAL_KUBE !== '1'
    ? 'AGENTTIER_REAL_KUBE is not 1'
    : '';

if (!enabled) {
  console.info(`[kube conformance] skipping the real-server run: ${reason}`);
}

describe.skipIf(!enabled)('kube conformance (real server)', () => {
  runKubeConformance(
    () => {
      const kc = new KubeConfig();
      kc.loadFromDefault();
      return { kubeConfig: kc, kubeconfigPath: kubeconfig ?? '' };
    },
    { eventuallyMs: 60_000 },
  );
});

describe.runIf(!enabled)('kube conformance (real server)', () => {
  it.skip(`skipped: ${reason}`, () => {});
});
