import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { ApisApi } from '@kubernetes/client-node';
import { API_GROUP } from '@agenttier/contract';
import { loadKubeConfig } from '@agenttier/platform-kubernetes';

export type KubeSetupProblem =
  'no-config' | 'config-not-found' | 'unreachable' | 'unauthorized' | 'forbidden' | 'crds-missing';

/** Why a process cannot talk to the cluster, in terms a caller can turn into a next step. */
export class KubeSetupError extends Error {
  override name = 'KubeSetupError';
  constructor(
    readonly problem: KubeSetupProblem,
    message: string,
    readonly server?: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

export interface KubeAccessOpts {
  /** A kubeconfig file (`--kubeconfig`). */
  kubeconfigPath?: string;
  /** The environment to look in: KUBECONFIG, HOME, KUBERNETES_SERVICE_HOST. */
  env?: Record<string, string | undefined>;
  userAgent?: string;
}

/**
 * Loads the kubeconfig the way kubectl finds it (a given file, $KUBECONFIG, ~/.kube/config, the
 * in-cluster service account) and fails with a KubeSetupError naming what is missing, instead of
 * client-node's silent fallback to http://localhost:8080.
 */
export function loadKubeAccess(opts: KubeAccessOpts = {}): KubeConfig {
  const env = opts.env ?? process.env;
  const ua = opts.userAgent ? { userAgent: opts.userAgent } : {};
  if (opts.kubeconfigPath) {
    if (!existsSync(opts.kubeconfigPath)) {
      throw new KubeSetupError('config-not-found', `kubeconfig ${opts.kubeconfigPath} does not exist`);
    }
    return loadKubeConfig({ kubeconfigPath: opts.kubeconfigPath, ...ua });
  }
  const listed = (env.KUBECONFIG ?? '').split(':').filter(Boolean);
  const home = env.HOME ? join(env.HOME, '.kube', 'config') : undefined;
  const inCluster = Boolean(env.KUBERNETES_SERVICE_HOST);
  if (listed.length === 1) {
    if (!existsSync(listed[0]!)) {
      throw new KubeSetupError(
        'config-not-found',
        `kubeconfig ${listed[0]} (from KUBECONFIG) does not exist`,
      );
    }
    return loadKubeConfig({ kubeconfigPath: listed[0]!, ...ua });
  }
  if (listed.length === 0 && !inCluster && !(home && existsSync(home))) {
    throw new KubeSetupError(
      'no-config',
      'no Kubernetes configuration: no --kubeconfig, no KUBECONFIG, no ~/.kube/config, and not running in a cluster',
    );
  }
  return loadKubeConfig(ua);
}

function causeCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown } | undefined, i = 0; e && i < 5; i++) {
    if (typeof e.code === 'string') return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Classifies a failed API call: unreachable, 401, 403; undefined when it is something else. */
export function kubeSetupErrorOf(err: unknown, server?: string): KubeSetupError | undefined {
  if (err instanceof KubeSetupError) return err;
  const status = (err as { code?: unknown }).code;
  if (status === 401) {
    return new KubeSetupError(
      'unauthorized',
      `the API server at ${server ?? '?'} refused the credentials (401)`,
      server,
      {
        cause: err,
      },
    );
  }
  if (status === 403) {
    return new KubeSetupError(
      'forbidden',
      `the API server at ${server ?? '?'} forbids this user the request (403)`,
      server,
      {
        cause: err,
      },
    );
  }
  const code = causeCode(err);
  const networkish = ['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ECONNRESET', 'ETIMEDOUT', 'EAI_AGAIN'];
  if ((code && networkish.includes(code)) || (err instanceof TypeError && /fetch failed/.test(err.message))) {
    return new KubeSetupError(
      'unreachable',
      `cannot reach the Kubernetes API server at ${server ?? '?'}${code ? ` (${code})` : ''}`,
      server,
      { cause: err },
    );
  }
  return undefined;
}

/**
 * Before starting a process that would otherwise wait silently for its caches: the API server
 * answers, accepts the credentials, and (with `requireCrds`) serves the agenttier.io group. Uses
 * discovery only, which every authenticated user may read.
 */
export async function checkCluster(kc: KubeConfig, opts: { requireCrds?: boolean } = {}): Promise<void> {
  const server = kc.getCurrentCluster()?.server;
  let groups: string[];
  try {
    const list = await kc.makeApiClient(ApisApi).getAPIVersions();
    groups = list.groups.map((g) => g.name);
  } catch (err) {
    throw kubeSetupErrorOf(err, server) ?? err;
  }
  if (opts.requireCrds && !groups.includes(API_GROUP)) {
    throw new KubeSetupError(
      'crds-missing',
      `the AgentTier CRDs (${API_GROUP}) are not installed in the cluster at ${server ?? '?'}`,
      server,
    );
  }
}
