import { KubeConfig } from '@kubernetes/client-node';

export interface KubeConfigOpts {
  /** A kubeconfig file; otherwise $KUBECONFIG, ~/.kube/config, then the in-cluster service account. */
  kubeconfigPath?: string;
  /** Already loaded (tests pass the fake's). */
  kubeConfig?: KubeConfig;
  /** Sent as User-Agent: the API server names Update field managers after it (`agenttier-controller`). */
  userAgent?: string;
}

/**
 * Loads a KubeConfig and stamps every request, including watches, with our User-Agent. client-node
 * has no global header option, but both its typed APIs and `Watch` call `applySecurityAuthentication`
 * on every request, so the header is added there.
 */
export function loadKubeConfig(opts: KubeConfigOpts = {}): KubeConfig {
  let kc = opts.kubeConfig;
  if (!kc) {
    kc = new KubeConfig();
    if (opts.kubeconfigPath) kc.loadFromFile(opts.kubeconfigPath);
    else kc.loadFromDefault();
  }
  if (opts.userAgent) withUserAgent(kc, opts.userAgent);
  return kc;
}

type AuthContext = Parameters<KubeConfig['applySecurityAuthentication']>[0];

export function withUserAgent(kc: KubeConfig, userAgent: string): KubeConfig {
  const original = kc.applySecurityAuthentication.bind(kc);
  kc.applySecurityAuthentication = async (ctx: AuthContext) => {
    await original(ctx);
    ctx.setHeaderParam('User-Agent', userAgent);
  };
  return kc;
}
