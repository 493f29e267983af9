// A black-box conformance suite for Kubernetes API servers: it exercises the behaviours the fake
// kube-apiserver claims (kubernetes-testing.md §3 and §4.7) through @kubernetes/client-node and
// kubectl only, so the same assertions run against the fake and against a real cluster. Every test
// works in a namespace of its own, deleted afterwards; CRDs get a unique group per describe block.
import type { ConformanceOpts, GetTarget } from './conformance/helpers.ts';
import { builtinsConformance } from './conformance/builtins.ts';
import { crudConformance } from './conformance/crud.ts';
import { deletionConformance } from './conformance/deletion.ts';
import { discoveryConformance } from './conformance/discovery.ts';
import { kubectlConformance } from './conformance/kubectl.ts';
import { patchConformance } from './conformance/patch.ts';
import { schemaConformance } from './conformance/schema.ts';
import { statusConformance } from './conformance/status.ts';
import { watchConformance } from './conformance/watch.ts';

export type { ConformanceOpts, GetTarget, KubeConformanceTarget } from './conformance/helpers.ts';

/**
 * Registers the conformance describe blocks. `getKubeConfig` is called in beforeAll hooks, so it may
 * return a server started by the calling file's own beforeAll.
 *
 * @example
 * let server: FakeKubeApiServer;
 * beforeAll(async () => (server = await startFakeKubeApiServer()));
 * afterAll(() => server.close());
 * runKubeConformance(() => server);
 */
export function runKubeConformance(getKubeConfig: GetTarget, opts: ConformanceOpts = {}): void {
  discoveryConformance(getKubeConfig, opts);
  crudConformance(getKubeConfig, opts);
  statusConformance(getKubeConfig, opts);
  schemaConformance(getKubeConfig, opts);
  patchConformance(getKubeConfig, opts);
  watchConformance(getKubeConfig, opts);
  deletionConformance(getKubeConfig, opts);
  builtinsConformance(getKubeConfig, opts);
  kubectlConformance(getKubeConfig, opts);
}
