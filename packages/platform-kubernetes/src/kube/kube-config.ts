import {
  KubeConfig,
  ServerConfiguration,
  createConfiguration,
  setHeaderMiddleware,
} from '@kubernetes/client-node';

export interface KubeConfigOpts {
  /** A kubeconfig file; otherwise $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfigPath?: string;
  /** Already loaded (tests pass the fake's). */
  kubeConfig?: KubeConfig;
  /** Sent as User-Agent: the API server names Update field managers after it (`agenttier-controller`). */
  userAgent?: string;
}

/**
 * Loads a KubeConfig and stamps every request, including watches, with our User-Agent (the API server
 * names Update field managers after it, and the RBAC test tells the processes apart by it).
 */
export function loadKubeConfig(opts: KubeConfigOpts = {}): KubeConfig {
  let kc = opts.kubeConfig;
  if (!kc) {
    kc = new KubeConfig();
    if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
    else {
      kc.loadFromDefault();
      // client-node falls back to http://localhost:8080 when it finds nothing; say what is missing instead.
      if (kc.getCurrentCluster()?.server === 'http://localhost:8080' && !process.env.KUBECONFIG) {
        throw new Error(
          'no Kubernetes configuration: not running in a cluster (no service account), no $KUBECONFIG and no ~/.kube/config',
        );
      }
    }
  }
  if (opts.userAgent) withUserAgent(kc, opts.userAgent);
  return kc;
}

type AuthContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

/**
 * client-node has no global header option: typed APIs get their User-Agent from a middleware that
 * `makeApiClient` installs, and `Watch` only calls `applySecurityAuthentication`. Both are replaced
 * on this one KubeConfig instance.
 */
export function withUserAgent(kc: KubeConfig, userAgent: string): KubeConfig {
  const original = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (ctx: AuthContext) => {
    await original(ctx);
    ctx.setHeaderParam('User-Agent', userAgent);
  };
  kc.makeApiClient = ((apiClientType: new (config: ReturnType<typeof createConfiguration>) => unknown) => {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error('No active cluster!');
    return new apiClientType(
      createConfiguration({
        baseServer: new ServerConfiguration(cluster.server, {}),
        authMethods: { default: kc },
        middleware: [setHeaderMiddleware('User-Agent', userAgent)],
      }),
    );
  }) as KubeConfig['makeApiClient'];
  return kc;
}
