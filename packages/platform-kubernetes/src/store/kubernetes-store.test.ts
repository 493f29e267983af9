import { runStoreContract } from '@agenttier/testkit';
import { startFakeClusterWithCrds } from '../testing/fake-cluster.ts';
import { KubernetesStore } from './kubernetes-store.ts';

runStoreContract('kubernetes (fake API server)', async () => {
  const fake = await startFakeClusterWithCrds();
  const store = new KubernetesStore({ kubeConfig: fake.kubeConfig });
  await store.start();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fake.close();
    },
  };
});
