// `agenttier install --apply` into the fake API server (emulating 1.26, the oldest supported release).
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import { installSuite } from '../testing/install-suite.ts';

installSuite(async () => {
  const fake = await startFakeKubeApiServer();
  return { kubeConfig: fake.kubeConfig, close: () => fake.close() };
});
