import { API_VERSION } from '@agenttier/contract';
import { eventually, runStoreContract } from '@agenttier/testkit';
import { describe, expect, it } from 'vitest';
import { startFakeClusterWithCrds } from '../testing/fake-cluster.ts';
import { KubernetesStore } from './kubernetes-store.ts';

/** A started store on a fresh fake API server (its cleanup closes both), for the store contract. */
const storeOnFake = (namespaces?: string[]) => async () => {
  const fake = await startFakeClusterWithCrds();
  const store = new KubernetesStore({ kubeConfig: fake.kubeConfig, ...(namespaces ? { namespaces } : {}) });
  await store.start();
  return {
    store,
    cleanup: async () => {
      await store.close();
      await fake.close();
    },
  };
};

runStoreContract('kubernetes (fake API server)', storeOnFake());

// A namespace-scoped operator (rbac.sandboxNamespaces): the same contract, with Sandboxes and
// SandboxTemplates listed and watched per namespace.
runStoreContract('kubernetes (fake API server), namespace-scoped', storeOnFake(['default', 'other']));

describe('KubernetesStore with namespaces', () => {
  it('lists and watches namespaced kinds only in its namespaces, never cluster-wide; reads elsewhere go to the server', async () => {
    const fake = await startFakeClusterWithCrds();
    const store = new KubernetesStore({ kubeConfig: fake.kubeConfig, namespaces: ['team-a', 'team-b'] });
    try {
      fake.seed([
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team-a' } },
        { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'elsewhere' } },
        ...['team-a', 'elsewhere'].map((namespace) => ({
          apiVersion: API_VERSION,
          kind: 'SandboxTemplate',
          metadata: { name: 't', namespace },
          spec: { image: { repository: 'agenttier/minimal-shell:dev' } },
        })),
      ]);
      await store.start();
      const scopes = (resource: string) =>
        new Set(
          fake.requests
            .filter(
              (r) =>
                r.group === 'agenttier.io' &&
                r.resource === resource &&
                (r.verb === 'list' || r.verb === 'watch'),
            )
            .map((r) => `${r.verb} ${r.namespace ?? '*'}`),
        );
      expect(scopes('sandboxes')).toEqual(new Set(['list team-a', 'list team-b']));
      expect(scopes('sandboxtemplates')).toEqual(new Set(['list team-a', 'list team-b']));
      // Cluster-scoped templates stay cluster-wide.
      expect(scopes('clustersandboxtemplates')).toEqual(new Set(['list *']));
      await eventually(
        () =>
          [...scopes('sandboxes')].includes('watch team-a') &&
          [...scopes('sandboxes')].includes('watch team-b'),
        'the per-namespace watches',
      );
      expect([...scopes('sandboxes')].some((s) => s.endsWith('*'))).toBe(false);

      expect((await store.list('SandboxTemplate')).map((t) => t.metadata.namespace)).toEqual(['team-a']);
      // Outside the served namespaces the cache has nothing; the server does.
      expect(await store.get('SandboxTemplate', { namespace: 'elsewhere', name: 't' })).toMatchObject({
        metadata: { namespace: 'elsewhere', name: 't' },
      });
      expect(
        (await store.list('SandboxTemplate', { namespace: 'elsewhere' })).map((t) => t.metadata.namespace),
      ).toEqual(['elsewhere']);
    } finally {
      await store.close();
      await fake.close();
    }
  });
});
