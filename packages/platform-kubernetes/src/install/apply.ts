import type { KubeConfig, KubernetesObject, ResponseContext } from '@kubernetes/client-node';
import {
  ApiextensionsV1Api,
  ApiException,
  HttpMethod,
  KubernetesObjectApi,
  PatchStrategy,
} from '@kubernetes/client-node';

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

const RAW = 'raw';

/**
 * Server-side apply of an object exactly as written. KubernetesObjectApi.patch serialises through
 * client-node's typed models, which drop every key they do not model: a CRD lost its `enum`s and
 * `x-kubernetes-validations` on the way (18 CEL rules sent as 1). Here the path comes from
 * discovery as before, but the body is the object's own JSON, and the answer is returned unparsed.
 */
class RawApplyApi extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): RawApplyApi {
    const api = kc.makeApiClient(RawApplyApi);
    api.setDefaultNamespace(kc);
    return api;
  }

  async apply(
    obj: KubernetesObject,
    opts: { fieldManager: string; force: boolean; dryRun: boolean },
  ): Promise<KubernetesObject> {
    const path = await this.specUriPath(obj, 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', opts.fieldManager);
    ctx.setQueryParam('force', String(opts.force));
    if (opts.dryRun) ctx.setQueryParam('dryRun', 'All');
    ctx.setBody(JSON.stringify(obj));
    return this.requestPromise(ctx, RAW);
  }

  protected override async processResponse<T extends KubernetesObject>(
    response: ResponseContext,
    type?: string,
  ): Promise<T> {
    if (type !== RAW) return super.processResponse(response, type);
    const text = await response.body.text();
    if (response.httpStatusCode >= 200 && response.httpStatusCode <= 299) return JSON.parse(text) as T;
    throw new ApiException(response.httpStatusCode, 'Unsuccessful HTTP Request', text, response.headers);
  }
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
  const client = RawApplyApi.forConfig(opts.kubeConfig);
  const manager = opts.fieldManager ?? 'agenttier-install';
  const applied: KubernetesObject[] = [];
  const apply = async (o: KubernetesObject) => {
    const out = await client.apply(o, {
      fieldManager: manager,
      force: opts.force ?? false,
      dryRun: opts.dryRun ?? false,
    });
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
