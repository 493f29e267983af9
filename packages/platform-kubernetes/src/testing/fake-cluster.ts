import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import { parse } from 'yaml';
import { CRD_KINDS, crdFileName } from '../crd/crds.ts';

const repoRoot = join(import.meta.dirname, '../../../..');

/** The committed CRD YAML (what `kubectl apply -f deploy/crds` installs), parsed. */
export function committedCrds(): Array<Record<string, unknown>> {
  return CRD_KINDS.map(
    (k) =>
      parse(readFileSync(join(repoRoot, 'deploy/crds', crdFileName(k)), 'utf8')) as Record<string, unknown>,
  );
}

/** A fake API server with our CRDs installed (from the committed YAML) and established. */
export async function startFakeClusterWithCrds(
  opts: { namespaces?: string[] } = {},
): Promise<FakeKubeApiServer> {
  const fake = await startFakeKubeApiServer({ namespaces: opts.namespaces ?? ['other', 'agenttier'] });
  fake.seed(committedCrds() as never);
  fake.faults.runControllersNow();
  return fake;
}
