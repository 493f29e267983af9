// Leader election against the fake API server (which parses Lease times as MicroTime, as 1.26 does).
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import { leaderElectionSuite } from '../testing/index.ts';

leaderElectionSuite(async () => {
  const fake = await startFakeKubeApiServer();
  return { kubeConfig: fake.kubeConfig, close: () => fake.close() };
});
