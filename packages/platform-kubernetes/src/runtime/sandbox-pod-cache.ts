import type { KubeConfig, V1Pod } from '@kubernetes/client-node';
import { CoreV1Api, Watch } from '@kubernetes/client-node';
import { LABEL_MANAGED } from '@agenttier/contract';
import { withRetry } from '../kube/api-errors.ts';
import type { ReflectorListener } from '../kube/reflector.ts';
import { Reflector } from '../kube/reflector.ts';

export const SANDBOX_POD_SELECTOR = `${LABEL_MANAGED}=true`;

export interface SandboxPodCacheOpts {
  kubeConfig: KubeConfig;
  /**
   * Watch only these namespaces (one list/watch each, so RBAC needs only a Role per namespace);
   * unset or empty: every namespace (a ClusterRole with pods list/watch).
   */
  namespaces?: string[];
  resyncMs?: number;
  onError?: (err: unknown, during: 'list' | 'watch') => void;
}

/**
 * The sandbox Pods (label agenttier.io/managed=true) the controller and the router read from memory,
 * watched per sandbox namespace when those are configured, else cluster-wide.
 */
export class SandboxPodCache {
  private readonly reflectors = new Map<string, Reflector<V1Pod>>();

  constructor(opts: SandboxPodCacheOpts) {
    const core = opts.kubeConfig.makeApiClient(CoreV1Api);
    const scopes = opts.namespaces?.length ? [...new Set(opts.namespaces)] : [undefined];
    for (const namespace of scopes) {
      const reflector = new Reflector<V1Pod>({
        name: namespace ? `pods in ${namespace}` : 'pods',
        watch: new Watch(opts.kubeConfig),
        watchPath: namespace ? `/api/v1/namespaces/${namespace}/pods` : '/api/v1/pods',
        labelSelector: SANDBOX_POD_SELECTOR,
        list: (page) => {
          const paging = {
            labelSelector: SANDBOX_POD_SELECTOR,
            limit: page.limit,
            ...(page.continue ? { _continue: page.continue } : {}),
          };
          return withRetry(
            () =>
              namespace
                ? core.listNamespacedPod({ namespace, ...paging })
                : core.listPodForAllNamespaces(paging),
            { idempotent: true },
          ) as never;
        },
        ...(opts.resyncMs !== undefined ? { resyncMs: opts.resyncMs } : {}),
        ...(opts.onError ? { onError: opts.onError } : {}),
      });
      this.reflectors.set(namespace ?? '*', reflector);
    }
  }

  /** The watched namespaces, or undefined when every namespace is. */
  get namespaces(): string[] | undefined {
    return this.reflectors.has('*') ? undefined : [...this.reflectors.keys()];
  }

  /** Whether pods of `namespace` are watched (always, when every namespace is). */
  covers(namespace: string): boolean {
    return this.reflectors.has('*') || this.reflectors.has(namespace);
  }

  async start(): Promise<void> {
    await Promise.all([...this.reflectors.values()].map((r) => r.start()));
  }

  stop(): void {
    for (const r of this.reflectors.values()) r.stop();
  }

  get hasSynced(): boolean {
    return [...this.reflectors.values()].every((r) => r.hasSynced);
  }

  on(listener: ReflectorListener<V1Pod>): void {
    for (const r of this.reflectors.values()) r.on(listener);
  }

  /** A pod by `namespace/name`; undefined when absent or in a namespace that is not watched. */
  get(namespace: string, name: string): V1Pod | undefined {
    return (this.reflectors.get('*') ?? this.reflectors.get(namespace))?.get(`${namespace}/${name}`);
  }
}
