// `agenttier install --apply` into a real API server (scripts/kube.sh runs it on v1.26.1 and
// v1.32.13; any cluster works: AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run install.real).
import { KubeConfig } from '@kubernetes/client-node';
import { describeOnRealCluster } from '@agenttier/testkit';
import { installSuite } from '../testing/install-suite.ts';

describeOnRealCluster('agenttier install --apply (real server)', () => {
  installSuite(async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { kubeConfig: kc };
  });
});
