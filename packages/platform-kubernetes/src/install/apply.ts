import type { KubeConfig, KubernetesObject } from '@kubernetes/client-node';
import { ApiextensionsV1Api, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';

export interface ApplyOpts {
  kubeConfig: KubeConfig;
  /** @default 'agenttier-install' */
  fieldManager?: string;
  /** Take over fields another manager owns (kubectl's --force-conflicts). @default false */
  force?: boolean;
  /** Server-side dry run: validate everything, persist nothing. */
  dryRun?: boolean;
  /** How long to wait for CRDs to be Established before applying custom resources. @default 30000 */
  crdTimeoutMs?: number;
  onApplied?: (obj: KubernetesObject) => void;
}

const isCrd = (o: KubernetesObject) => o.kind === 'CustomResourceDefinition';
const isNamespace = (o: KubernetesObject) => o.kind === 'Namespace';

/**
 * `agenttier install --apply`: server-side apply of the rendered manifests, in dependency order:
 * namespaces and CRDs first, then (once the CRDs are Established) everything else.
 */
export async function applyInstallManifests(
  objects: KubernetesObject[],
  opts: ApplyOpts,
): Promise<KubernetesObject[]> {
  const client = KubernetesObjectApi.makeApiClient(opts.kubeConfig);
  const manager = opts.fieldManager ?? 'agenttier-install';
  const applied: KubernetesObject[] = [];
  const apply = async (o: KubernetesObject) => {
    const out = await client.patch(
      o,
      undefined,
      opts.dryRun ? 'All' : undefined,
      manager,
      opts.force ?? false,
      PatchStrategy.ServerSideApply,
    );
    applied.push(out);
    opts.onApplied?.(out);
  };
  const first = objects.filter((o) => isNamespace(o) || isCrd(o));
  for (const o of first) await apply(o);
  if (!opts.dryRun)
    await waitForCrds(
      opts.kubeConfig,
      objects.filter(isCrd).map((o) => o.metadata?.name ?? ''),
      opts.crdTimeoutMs ?? 30_000,
    );
  for (const o of objects.filter((x) => !first.includes(x))) await apply(o);
  return applied;
}

async function waitForCrds(kc: KubeConfig, names: string[], timeoutMs: number): Promise<void> {
  const api = kc.makeApiClient(ApiextensionsV1Api);
  const deadline = Date.now() + timeoutMs;
  for (const name of names) {
    for (;;) {
      const crd = await api.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} is not Established after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
