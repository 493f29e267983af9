import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane, Logger } from '@agenttier/core';
import {
  KubernetesStore,
  SANDBOXD_PORT,
  loadKubeConfig,
  withChildNamesOnRead,
} from '@agenttier/platform-kubernetes';
import type { Authenticator, OidcSettings } from '@agenttier/server';
import { kubeTokenReview } from './token-review-call.ts';
import {
  API_KEY_RE,
  SandboxdDataPlane,
  SqliteAgentRecords,
  SqliteApiKeyStore,
  SqliteAuditLog,
  SqlitePreviewGrantStore,
  SqliteSessionStore,
  checkOidcSettings,
  createServiceAccountReviewer,
  oidcSettingsFromEnv,
  createApp,
  hashApiKey,
  newKeyId,
  rateLimitsFromEnv,
  trustedProxiesFromEnv,
  auditRetentionFromEnv,
} from '@agenttier/server';
import { namespaceList } from '../namespace-list.ts';
import { SandboxdPods } from './sandboxd-pods.ts';
import { sandboxdFallback } from './tar-fallback.ts';
import { mirrorAuditToEvents } from './audit-events.ts';
import { kubeSandboxEvents } from './sandbox-events-feed.ts';

/** Where images/controller/Dockerfile copies the built web UI. */
const IMAGE_WEB_ROOT = '/opt/agenttier/web';

export const ROUTER_COMPONENT = 'agenttier-router';

export interface RouterProcessOpts {
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** Install namespace. @default $POD_NAMESPACE or 'agenttier' */
  namespace?: string;
  /** @default '0.0.0.0' */
  host?: string;
  /** @default 8080 (0 picks a free port) */
  port?: number;
  /** Who is calling. Without one the router answers 401 to every API call, unless `devAuth`. */
  authenticate?: Authenticator;
  /** Every caller is the development admin: only for a cluster nobody else can reach. @default $AGENTTIER_DEV_AUTH === 'true' */
  devAuth?: boolean;
  /** The router is reached over HTTPS (an ingress terminates TLS): session cookies get `__Host-` and `Secure`. @default env AGENTTIER_SECURE_COOKIES === 'true' */
  secureCookies?: boolean;
  /** OpenID Connect (bearer JWTs, browser login). @default from env AGENTTIER_OIDC_* (docs/auth.md#oidc) */
  oidc?: OidcSettings;
  /**
   * Kubernetes ServiceAccount tokens minted for `audience` log in through TokenReview (in-cluster
   * agents), or `false`. @default on when $AGENTTIER_SA_TOKENS === 'true', audience $AGENTTIER_SA_TOKEN_AUDIENCE or 'agenttier'
   */
  serviceAccountTokens?: false | { audience?: string; cacheTtlMs?: number };
  /**
   * An admin API key (`atk_…`, from a Secret) registered by its hash at start, so the first admin can
   * get in and issue keys for everyone else (`agenttier apikey create`). API keys live in the data
   * directory's SQLite file. @default $AGENTTIER_ADMIN_KEY
   */
  adminKey?: string;
  logger?: PinoLogger;
  /** Level of the default logger (JSON lines on stderr). @default $AGENTTIER_LOG_LEVEL or 'info' */
  logLevel?: string;
  /**
   * Where the router keeps agent-mode invoke records and install logs (SQLite, `agent-records.db`).
   * In a cluster this is the router's PersistentVolumeClaim, so records survive restarts; they are
   * local to this router, which is why the Deployment runs one replica with `strategy: Recreate`.
   * @default $AGENTTIER_DATA_DIR or '/var/lib/agenttier'
   */
  dataDir?: string;
  /**
   * The built web UI (packages/web/dist) served at `/`; false serves none.
   * @default AGENTTIER_WEB_ROOT, else /opt/agenttier/web (where the controller image puts it) when present
   */
  webUiRoot?: string | false;
  /**
   * Host names (`name` or `name:port`) the router answers besides loopback: the Service name and the
   * public name of the ingress. Kubelet probes and metrics scrapes need none (they may use any Host).
   * @default $AGENTTIER_ALLOWED_HOSTS (comma-separated) or []
   */
  allowedHosts?: string[];
  /** Browser origins allowed to call the API. @default $AGENTTIER_CORS_ORIGINS or [] */
  corsOrigins?: string[];
  /**
   * Where previews live: a wildcard origin whose DNS name and certificate point at the router, e.g.
   * `https://*.preview.example.com`. @default $AGENTTIER_PREVIEW_ORIGIN or http://*.localhost:{port}
   */
  previewOrigin?: string;
  /**
   * Namespaces that host sandboxes: sandbox pods are watched there only (RBAC: a Role each).
   * @default $AGENTTIER_SANDBOX_NAMESPACES (comma-separated), else every namespace
   */
  sandboxNamespaces?: string[];
  /** Port sandboxd listens on in every sandbox pod (tests point it at a sandboxd on the host). @default 7070 */
  sandboxdPort?: number;
}

export interface RouterProcess {
  url: string;
  app: FastifyInstance;
  store: KubernetesStore;
  /** The SQLite file holding invoke records and install logs. */
  agentRecordsPath: string;
  close(): Promise<void>;
}

/** A comma-separated environment list. */
function envList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
}

/** Fails closed: with no authentication configured, nobody gets in. */
export const rejectAll: Authenticator = async () => {
  throw new PlatformError(
    'UNAUTHENTICATED',
    'this router has no authentication configured; set auth in the Helm values (auth.devAuth=true only for a private test cluster)',
  );
};

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
  const sandboxNamespaces = opts.sandboxNamespaces ?? namespaceList(process.env.AGENTTIER_SANDBOX_NAMESPACES);
  // Namespace-scoped: Sandboxes and SandboxTemplates are watched per sandbox namespace only.
  const store = new KubernetesStore({
    kubeConfig: kc,
    logger,
    ...(sandboxNamespaces?.length ? { namespaces: sandboxNamespaces } : {}),
  });
  const pods = new SandboxdPods(kc, logger, opts.sandboxdPort ?? SANDBOXD_PORT, undefined, sandboxNamespaces);
  const dataDir = opts.dataDir ?? process.env.AGENTTIER_DATA_DIR ?? '/var/lib/agenttier';
  const agentRecordsPath = join(dataDir, 'agent-records.db');
  // Opened before anything starts, so an unwritable data directory fails the start with its path.
  let agentRecords: SqliteAgentRecords;
  try {
    agentRecords = new SqliteAgentRecords(agentRecordsPath);
  } catch (err) {
    throw new Error(
      `cannot open the invoke-record store ${agentRecordsPath} (${(err as Error).message}); give the router a writable data directory (--data-dir, AGENTTIER_DATA_DIR, or the chart's router.persistence)`,
      { cause: err },
    );
  }
  const interrupted = agentRecords.interruptRunning('the router stopped while this invoke ran');
  if (interrupted > 0)
    log.warn({ interrupted }, 'closed the records of invokes cut off by the last shutdown');
  try {
    await Promise.all([store.start(), pods.start()]);
  } catch (err) {
    agentRecords.close();
    throw err;
  }

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
  }, sandboxdFallback());
  const devAuth = opts.devAuth ?? process.env.AGENTTIER_DEV_AUTH === 'true';
  if (devAuth && !opts.authenticate)
    log.warn('development authentication: every caller without a key is an admin');
  // API keys and the audit trail share the invoke records' file (the router's volume).
  const apiKeys = new SqliteApiKeyStore(agentRecordsPath);
  const auditLog = new SqliteAuditLog(agentRecordsPath, auditRetentionFromEnv(process.env));
  const sessions = new SqliteSessionStore(agentRecordsPath);
  // Preview links and preview sessions outlive a router restart (hashes only, single use kept).
  const previewGrants = new SqlitePreviewGrantStore(agentRecordsPath);
  let oidc: OidcSettings | undefined;
  try {
    oidc = opts.oidc ? checkOidcSettings(opts.oidc) : oidcSettingsFromEnv(process.env);
  } catch (err) {
    agentRecords.close();
    apiKeys.close();
    auditLog.close();
    sessions.close();
    previewGrants.close();
    throw err;
  }
  const saTokens =
    opts.serviceAccountTokens ??
    (process.env.AGENTTIER_SA_TOKENS === 'true'
      ? { audience: process.env.AGENTTIER_SA_TOKEN_AUDIENCE || 'agenttier' }
      : false);
  if (saTokens)
    log.info({ audience: saTokens.audience ?? 'agenttier' }, 'ServiceAccount tokens on (TokenReview)');
  if (oidc)
    log.info({ issuer: oidc.issuer, audience: oidc.audience, login: Boolean(oidc.clientId) }, 'OIDC on');
  const closeDbs = () => {
    agentRecords.close();
    apiKeys.close();
    auditLog.close();
    sessions.close();
    previewGrants.close();
  };
  const adminKey = opts.adminKey ?? process.env.AGENTTIER_ADMIN_KEY;
  if (adminKey) {
    if (!API_KEY_RE.test(adminKey)) {
      closeDbs();
      throw new Error('the admin key (AGENTTIER_ADMIN_KEY) must be atk_ followed by 43 letters and digits');
    }
    if (!(await apiKeys.findByHash(hashApiKey(adminKey))))
      await apiKeys.insert({
        id: newKeyId(),
        name: 'bootstrap admin (AGENTTIER_ADMIN_KEY)',
        hash: hashApiKey(adminKey),
        owner: { id: 'admin', name: 'Admin', groups: ['agenttier-admins'], isAdmin: true },
        createdAt: new Date().toISOString(),
      });
  }

  const webUiRoot =
    opts.webUiRoot ?? process.env.AGENTTIER_WEB_ROOT ?? (existsSync(IMAGE_WEB_ROOT) ? IMAGE_WEB_ROOT : false);
  const app = createApp({
    ...(webUiRoot ? { webUi: { root: webUiRoot } } : {}),
    store: withChildNamesOnRead(store),
    dataPlaneFor: async (): Promise<DataPlane> => dataPlane,
    sandboxEvents: kubeSandboxEvents(kc, logger),
    sandboxdFor: clientFor,
    agentRecords,
    logger: log,
    ...(opts.authenticate ? { authenticate: opts.authenticate } : {}),
    apiKeys,
    // Audited calls on a sandbox also become Events on it (kubectl describe sandbox).
    auditLog: mirrorAuditToEvents(auditLog, kc, {
      ...(sandboxNamespaces?.length ? { namespaces: sandboxNamespaces } : {}),
      component: ROUTER_COMPONENT,
      logger,
    }),
    // Browser sessions; behind TLS (an ingress) AGENTTIER_SECURE_COOKIES=true makes them __Host-…; Secure.
    sessions: {
      store: sessions,
      secureCookies: opts.secureCookies ?? process.env.AGENTTIER_SECURE_COOKIES === 'true',
    },
    previewSessions: { store: previewGrants },
    ...(oidc ? { oidc } : {}),
    ...(saTokens
      ? {
          serviceAccounts: createServiceAccountReviewer({
            review: kubeTokenReview(kc),
            ...(saTokens.audience ? { audience: saTokens.audience } : {}),
            ...(saTokens.cacheTtlMs !== undefined ? { cacheTtlMs: saTokens.cacheTtlMs } : {}),
          }),
        }
      : {}),
    devAuth,
    // Per-identity and per-address limits of create, exec and invoke (AGENTTIER_RATE_LIMIT_*; docs/auth.md).
    rateLimits: rateLimitsFromEnv(process.env),
    // An Ingress or load balancer in front of the router, when it sets X-Forwarded-For (docs/auth.md).
    trustedProxies: trustedProxiesFromEnv(process.env),
    readinessChecks: [
      async () => {
        if (!store.hasSynced || !pods.hasSynced) throw new Error('caches not synced');
      },
    ],
    http: {
      allowedHosts: opts.allowedHosts ?? envList(process.env.AGENTTIER_ALLOWED_HOSTS),
      corsOrigins: opts.corsOrigins ?? envList(process.env.AGENTTIER_CORS_ORIGINS),
      ...((opts.previewOrigin ?? process.env.AGENTTIER_PREVIEW_ORIGIN)
        ? { previewOrigin: opts.previewOrigin ?? process.env.AGENTTIER_PREVIEW_ORIGIN }
        : {}),
    },
  });
  let address: string;
  try {
    address = await app.listen({ host: opts.host ?? '0.0.0.0', port: opts.port ?? 8080 });
  } catch (err) {
    await app.close().catch(() => undefined);
    pods.stop();
    await store.close();
    closeDbs();
    throw err;
  }
  const url = address.replace('0.0.0.0', '127.0.0.1').replace('[::]', '127.0.0.1');
  log.info({ url, namespace, agentRecords: agentRecordsPath }, 'router listening');
  return {
    url,
    app,
    store,
    agentRecordsPath,
    async close() {
      // createApp's onClose hook stops the live invokes (their records end) before the file closes.
      await app.close();
      pods.stop();
      await store.close();
      closeDbs();
    },
  };
}
