// The events feed against a real API server (scripts/kube.sh; any cluster:
// AGENTTIER_REAL_KUBE=1 KUBECONFIG=... npx vitest run --project integration sandbox-events-feed.real).
import { KubeConfig } from '@kubernetes/client-node';
import { describeOnRealCluster } from '@agenttier/testkit';
import { eventsFeedSuite } from '../testing/events-feed-suite.ts';

describeOnRealCluster('kubeSandboxEvents (real server)', () => {
  eventsFeedSuite(() => {
    const kc = new KubeConfig();
    kc.loadFromDefault();
    return kc;
  });
});
