import type { KubeConfig } from '@kubernetes/client-node';
import { CustomObjectsApi, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Resource, ResourceKind } from '@agenttier/contract';
import { API_GROUP, KINDS } from '@agenttier/contract';
import { CRD_VERSION } from '../crd/crds.ts';
import type { KubeList } from './reflector.ts';

/** Where a kind lives in the API: group, version, plural and whether URLs carry a namespace. */
export function resourcePath(kind: ResourceKind, namespace?: string): string {
  const info = KINDS[kind];
  const ns = info.namespaced && namespace ? `/namespaces/${namespace}` : '';
  return `/apis/${API_GROUP}/${CRD_VERSION}${ns}/${info.plural}`;
}

interface Ids {
  group: string;
  version: string;
  plural: string;
}

/**
 * Our three kinds through client-node's CustomObjectsApi, hiding the namespaced/cluster split of its
 * method names. Every method returns the API server's answer unchanged (errors are ApiExceptions).
 */
export class CustomResources {
  private readonly api: CustomObjectsApi;

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(CustomObjectsApi);
  }

  private ids(kind: ResourceKind): Ids {
    return { group: API_GROUP, version: CRD_VERSION, plural: KINDS[kind].plural };
  }

  private namespaced(kind: ResourceKind, namespace: string | undefined): namespace is string {
    return KINDS[kind].namespaced && namespace !== undefined;
  }

  async get<T extends Resource>(kind: ResourceKind, namespace: string | undefined, name: string): Promise<T> {
    const ids = this.ids(kind);
    return (
      this.namespaced(kind, namespace)
        ? this.api.getNamespacedCustomObject({ ...ids, namespace, name })
        : this.api.getClusterCustomObject({ ...ids, name })
    ) as Promise<T>;
  }

  /** All namespaces when `namespace` is undefined. */
  async list<T extends Resource>(
    kind: ResourceKind,
    opts: { namespace?: string; labelSelector?: string; limit?: number; continue?: string } = {},
  ): Promise<KubeList<T>> {
    const ids = this.ids(kind);
    const q = {
      ...(opts.labelSelector ? { labelSelector: opts.labelSelector } : {}),
      ...(opts.limit ? { limit: opts.limit } : {}),
      ...(opts.continue ? { _continue: opts.continue } : {}),
    };
    return (
      this.namespaced(kind, opts.namespace)
        ? this.api.listNamespacedCustomObject({ ...ids, namespace: opts.namespace, ...q })
        : this.api.listClusterCustomObject({ ...ids, ...q })
    ) as Promise<KubeList<T>>;
  }

  async create<T extends Resource>(obj: T): Promise<T> {
    const ids = this.ids(obj.kind);
    const namespace = obj.metadata.namespace;
    return (
      this.namespaced(obj.kind, namespace)
        ? this.api.createNamespacedCustomObject({ ...ids, namespace, body: obj })
        : this.api.createClusterCustomObject({ ...ids, body: obj })
    ) as Promise<T>;
  }

  /** PUT: the body's resourceVersion makes it a compare-and-swap (409 when stale). */
  async replace<T extends Resource>(obj: T): Promise<T> {
    const ids = this.ids(obj.kind);
    const { namespace, name } = obj.metadata;
    return (
      this.namespaced(obj.kind, namespace)
        ? this.api.replaceNamespacedCustomObject({ ...ids, namespace, name, body: obj })
        : this.api.replaceClusterCustomObject({ ...ids, name, body: obj })
    ) as Promise<T>;
  }

  /** PUT on /status: the server takes only `status` from the body. */
  async replaceStatus<T extends Resource>(obj: T): Promise<T> {
    const ids = this.ids(obj.kind);
    const { namespace, name } = obj.metadata;
    return (
      this.namespaced(obj.kind, namespace)
        ? this.api.replaceNamespacedCustomObjectStatus({ ...ids, namespace, name, body: obj })
        : this.api.replaceClusterCustomObjectStatus({ ...ids, name, body: obj })
    ) as Promise<T>;
  }

  /** JSON merge patch (custom resources do not take strategic merge patch). */
  async mergePatch<T extends Resource>(
    kind: ResourceKind,
    namespace: string | undefined,
    name: string,
    body: object,
  ): Promise<T> {
    const ids = this.ids(kind);
    const opts = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    return (
      this.namespaced(kind, namespace)
        ? this.api.patchNamespacedCustomObject({ ...ids, namespace, name, body }, opts)
        : this.api.patchClusterCustomObject({ ...ids, name, body }, opts)
    ) as Promise<T>;
  }

  /** DELETE, background propagation: children go through owner references. Returns the server's body. */
  async delete(kind: ResourceKind, namespace: string | undefined, name: string): Promise<unknown> {
    const ids = this.ids(kind);
    const body = { propagationPolicy: 'Background' };
    return this.namespaced(kind, namespace)
      ? this.api.deleteNamespacedCustomObject({ ...ids, namespace, name, body })
      : this.api.deleteClusterCustomObject({ ...ids, name, body });
  }
}
