// `agenttier install --apply` into a real API server (scripts/kube.sh runs it on v1.26.1 and
// v1.32.13; any cluster works: AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run install.real).
import { KubeConfig } from '@kubernetes/client-node';
import { describe, it } from 'vitest';
import { installSuite } from '../testing/install-suite.ts';

const reason = !process.env.KUBECONFIG
  ? 'KUBECONFIG is not set'
  : process.env.AGENTTIER_REAL_KUBE !== '1'
    ? 'AGENTTIER_REAL_KUBE is not 1'
    : '';

if (reason) {
  console.info(`[install] skipping the real-server run: ${reason}`);
  describe('agenttier install --apply (real server)', () => {
    it.skip(`skipped: ${reason}`, () => {});
  });
} else {
  installSuite(async () => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return { kubeConfig: kc };
  });
}
