import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { CRD_KINDS, crdFileName } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';

const repoRoot = join(import.meta.dirname, '../../..');

/** Test support: a fake API server with the committed CRDs installed and the install namespace. */
export async function startFakeCluster(): Promise<FakeKubeApiServer> {
  const fake = await startFakeKubeApiServer({ namespaces: ['agenttier', 'other'] });
  fake.seed(
    CRD_KINDS.map((k) => parse(readFileSync(join(repoRoot, 'deploy/crds', crdFileName(k)), 'utf8'))) as never,
  );
  fake.faults.runControllersNow();
  return fake;
}

export { eventually } from '@agenttier/testkit';
