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

export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
