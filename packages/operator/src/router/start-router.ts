import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane, Logger } from '@agenttier/core';
import { KubernetesStore, loadKubeConfig } from '@agenttier/platform-kubernetes';
import type { Authenticator } from '@agenttier/server';
import { SandboxdDataPlane, createApp, devAuthenticator } from '@agenttier/server';
import { loadSandboxdKey } from '../sandboxd-key.ts';
import { SandboxdPods } from './sandboxd-pods.ts';
import { sandboxdFallback } from './tar-fallback.ts';

export const ROUTER_COMPONENT = 'agenttier-router';

export interface RouterProcessOpts {
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** Install namespace (where the sandboxd key Secret is). @default $POD_NAMESPACE or 'agenttier' */
  namespace?: string;
  /** @default '0.0.0.0' */
  host?: string;
  /** @default 8080 (0 picks a free port) */
  port?: number;
  /** Who is calling. Without one the router answers 401 to every API call, unless `devAuth`. */
  authenticate?: Authenticator;
  /** Every caller is the development admin: only for a cluster nobody else can reach. @default $AGENTTIER_DEV_AUTH === 'true' */
  devAuth?: boolean;
  /** How long to wait for the controller to create the sandboxd key. @default 60000 */
  keyWaitMs?: number;
  logger?: PinoLogger;
  /** Level of the default logger (JSON lines on stderr). @default $AGENTTIER_LOG_LEVEL or 'info' */
  logLevel?: string;
}

export interface RouterProcess {
  url: string;
  app: FastifyInstance;
  store: KubernetesStore;
  close(): Promise<void>;
}

/** Fails closed: with no authentication configured, nobody gets in. */
export const rejectAll: Authenticator = async () => {
  throw new PlatformError(
    'UNAUTHENTICATED',
    'this router has no authentication configured; set auth in the Helm values (auth.devAuth=true only for a private test cluster)',
  );
};

export const AGENT_MODE_NOT_IMPLEMENTED =
  'agent mode (configure, invoke, invoke records) is not available on the Kubernetes router yet: it needs a durable invoke-record store in the cluster; use the local platform (`agenttier up`) for agent sandboxes, or exec, files and the terminal here';

/**
 * Agent mode needs an AgentRecordStore (durable invoke records that any router replica can replay);
 * there is none for the cluster yet, so createApp registers no agent routes. Rather than a bare
 * "no route" 404 (which reads like a wrong URL), every agent path answers 501 NOT_IMPLEMENTED with
 * what to do instead. Authentication runs first, as for every /api path.
 */
function agentModeNotImplemented(app: FastifyInstance): void {
  const refuse = async () => {
    throw new PlatformError('NOT_IMPLEMENTED', AGENT_MODE_NOT_IMPLEMENTED);
  };
  void app.register(async (scope) => {
    // Invoke bodies are any content type; refuse them without parsing.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: 16 * 1024 * 1024 }, (_req, _body, done) =>
      done(null, undefined),
    );
    for (const path of ['configure', 'invoke', 'invoke/cancel']) {
      scope.post(`/api/v1/sandboxes/:id/${path}`, refuse);
    }
    for (const path of [
      'configure/install-log',
      'invokes',
      'invokes/:invokeId',
      'invokes/:invokeId/stream',
    ]) {
      scope.get(`/api/v1/sandboxes/:id/${path}`, refuse);
    }
  });
}

/**
 * `agenttier router` in a cluster: the same REST API as `agenttier up` (the lead's createApp),
 * backed by the Kubernetes store, reaching each sandbox's sandboxd at its pod IP with its token. The
 * controller runs separately, so the router writes desired state and the watch does the rest.
 */
export async function startRouter(opts: RouterProcessOpts = {}): Promise<RouterProcess> {
  const namespace = opts.namespace ?? process.env.POD_NAMESPACE ?? 'agenttier';
  const log =
    opts.logger ??
    pino(
      {
        level: opts.logLevel ?? process.env.AGENTTIER_LOG_LEVEL ?? 'info',
        redact: ['req.headers.authorization', 'req.headers["x-api-key"]'],
      },
      pino.destination(2),
    );
  const logger = log as unknown as Logger;
  const kc = loadKubeConfig({
    ...(opts.kubeConfig ? { kubeConfig: opts.kubeConfig } : {}),
    ...(opts.kubeconfigPath ? { kubeconfigPath: opts.kubeconfigPath } : {}),
    userAgent: `${ROUTER_COMPONENT}/0.1.0`,
  });
  const store = new KubernetesStore({ kubeConfig: kc, logger });
  const key = await loadSandboxdKey(kc, namespace, {
    create: false,
    ...(opts.keyWaitMs !== undefined ? { waitMs: opts.keyWaitMs } : {}),
  });
  const pods = new SandboxdPods(kc, key, logger);
  await Promise.all([store.start(), pods.start()]);

  const clientFor = (sb: Sandbox) => pods.clientFor(sb);
  const dataPlane = new SandboxdDataPlane((sb) => {
    const client = clientFor(sb);
    if (!client) {
      throw new PlatformError(
        'SANDBOX_NOT_RUNNING',
        `sandbox "${sb.metadata.name}" has no running pod yet; wait for phase Running`,
      );
    }
    return client;
  }, sandboxdFallback(clientFor));
  const devAuth = opts.devAuth ?? process.env.AGENTTIER_DEV_AUTH === 'true';
  const authenticate = opts.authenticate ?? (devAuth ? devAuthenticator : rejectAll);
  if (devAuth && !opts.authenticate) log.warn('development authentication: every caller is an admin');

  const app = createApp({
    store,
    dataPlaneFor: async (): Promise<DataPlane> => dataPlane,
    sandboxdFor: clientFor,
    logger: log,
    authenticate,
    readinessChecks: [
      async () => {
        if (!store.hasSynced || !pods.hasSynced) throw new Error('caches not synced');
      },
    ],
  });
  agentModeNotImplemented(app);
  const address = await app.listen({ host: opts.host ?? '0.0.0.0', port: opts.port ?? 8080 });
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  log.info({ url, namespace }, 'router listening');
  return {
    url,
    app,
    store,
    async close() {
      await app.close();
      pods.stop();
      await store.close();
    },
  };
}
