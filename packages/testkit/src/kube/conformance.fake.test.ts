// The conformance suite against the fake kube-apiserver, emulating the oldest supported release
// (1.26) and a current one (1.32): the same assertions scripts/kube.sh runs against both real ones.
import { afterAll, beforeAll, describe } from 'vitest';
import { runKubeConformance } from './conformance.ts';
import { startFakeKubeApiServer } from './server.ts';
import type { FakeKubeApiServer } from './server.ts';

for (const minor of ['26', '32']) {
  describe(`fake kube-apiserver emulating 1.${minor}`, () => {
    let server: FakeKubeApiServer;
    beforeAll(async () => {
      server = await startFakeKubeApiServer({ version: { major: '1', minor } });
    });
    afterAll(async () => {
      await server.close();
    });

    runKubeConformance(() => ({
      kubeConfig: server.kubeConfig,
      kubeconfigPath: server.kubeconfigPath,
      expireWatchHistory: () => server.faults.compact(),
    }));
  });
}
