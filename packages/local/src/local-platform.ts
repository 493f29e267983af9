import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, statfsSync, writeFileSync } from 'node:fs';
import { availableParallelism, homedir, totalmem } from 'node:os';
import { dirname, join } from 'node:path';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { isPlatformError } from '@agenttier/contract';
import type { DataPlane, Logger } from '@agenttier/core';
import { BUILTIN_TEMPLATES, createController, workloadName } from '@agenttier/core';
import type { Controller } from '@agenttier/core';
import {
  DockerRuntime,
  EngineDataPlane,
  LoopWorkspaces,
  MIN_WORKSPACE_BYTES,
  SANDBOXD_SOCKET_NAME,
  SqliteStore,
  connectNoFollow,
  engineHostPaths,
  stageSandboxdVolumes,
  createDockerClient,
  defaultDockerHost,
} from '@agenttier/platform-local';
import type { DockerRuntimeOpts, StagedSandboxd } from '@agenttier/platform-local';
import type { FastifyInstance } from 'fastify';
import { ensureSandboxdBundle, SANDBOXD_LAUNCH_FILE } from '@agenttier/sandboxd';
import type { SandboxdBundle } from '@agenttier/sandboxd';
import {
  SandboxdDataPlane,
  SqliteAgentRecords,
  API_KEY_RE,
  SqliteApiKeyStore,
  SqliteAuditLog,
  SqliteSecretStore,
  loadOrCreateSecretKey,
  SqlitePreviewGrantStore,
  SqliteSessionStore,
  SqliteSandboxEvents,
  checkOidcSettings,
  oidcSettingsFromEnv,
  createApp,
  defaultWebUiRoot,
  generateApiKey,
  hashApiKey,
  newKeyId,
  createSandboxdClientCache,
  DEFAULT_CREATE_LIMITS,
  rateLimitsFromEnv,
  trustedProxiesFromEnv,
  auditRetentionFromEnv,
} from '@agenttier/server';
import type {
  CreateLimitOpts,
  IdentityRateLimitOpts,
  OidcSettings,
  ServerLimitsOpts,
} from '@agenttier/server';

export interface LocalPlatformOpts {
  /** @default '127.0.0.1' — anything else needs auth, which is refused until auth is configured. */
  host?: string;
  /**
   * PEM certificate and key files: serve HTTPS (API, WebSockets, previews, web UI) and mark browser
   * session cookies `Secure` with the `__Host-` prefix. Both or neither (`agenttier up --tls-cert/--tls-key`).
   */
  tlsCertPath?: string;
  tlsKeyPath?: string;
  /** @default 8080 (env AGENTTIER_PORT); 0 picks a free port. */
  port?: number;
  /** State (SQLite) and per-sandbox run dirs. @default env AGENTTIER_DATA_DIR or ~/.agenttier */
  dataDir?: string;
  /** Docker-API endpoint. @default env AGENTTIER_DOCKER_HOST, DOCKER_HOST, the private engine's socket, /var/run/docker.sock */
  dockerHost?: string;
  /** @default 'info' */
  logLevel?: string;
  logger?: PinoLogger;
  /** Reconcile/resync period. @default 30000 */
  resyncIntervalMs?: number;
  /** Run sandboxd inside sandboxes (fast exec, terminals, ports). false = engine exec only. @default true */
  sandboxd?: boolean;
  /** Sandboxes that may exist at once; 0 = no cap. @default env AGENTTIER_MAX_SANDBOXES or 100 */
  maxSandboxes?: number;
  /** Sustained creates per second per caller; 0 = no rate limit. @default env AGENTTIER_CREATE_RATE or 5 */
  createsPerSecond?: number;
  /** Creates a caller may send back to back. @default env AGENTTIER_CREATE_BURST or 30 */
  createBurst?: number;
  /**
   * Sandboxes the controller reconciles at once. Reconciles mostly wait on the engine, and a create
   * waits for the container and its daemon to start: with a handful of workers, twenty creates at once
   * went through in waves. @default 32
   */
  controllerConcurrency?: number;
  /** Fault injection for crash-recovery tests: called after each engine change (DockerRuntimeOpts.onStep). */
  onRuntimeStep?: DockerRuntimeOpts['onStep'];
  /** Host names served besides loopback (`agenttier up --allowed-host`). @default [] */
  allowedHosts?: string[];
  /** Browser origins allowed to call the API (`--cors-origin`). @default [] */
  corsOrigins?: string[];
  /** Where previews live, `scheme://*.domain[:port]`. @default http://*.localhost:{port} */
  previewOrigin?: string;
  /** Timeouts and connection limits (docs/security.md, "Router under abuse"). */
  limits?: ServerLimitsOpts;
  /**
   * How `storage.size` is enforced: `loop` gives each workspace its own ext4 image of that size (needs
   * root, a local Docker engine, losetup and mkfs.ext4; refuses to start otherwise), `off` uses plain
   * engine volumes that may fill the host's disk, `auto` is `loop` where it can work and `off` with a
   * warning elsewhere (a rootless or remote engine, not root). @default env AGENTTIER_WORKSPACE_QUOTA or 'auto'
   */
  workspaceQuota?: 'auto' | 'loop' | 'off';
  /**
   * Development authentication: requests without a credential are the admin `dev-user` (requests
   * with one are still checked). Loopback only. @default false (API keys; see ensureAdminKey)
   */
  devAuth?: boolean;
  /**
   * OpenID Connect: bearer JWTs from this issuer, and browser login when it names a client id
   * (docs/auth.md#oidc). @default from env AGENTTIER_OIDC_* (none when AGENTTIER_OIDC_ISSUER is unset)
   */
  oidc?: OidcSettings;
  /** Where AGENTTIER_OIDC_* are read when `oidc` is absent (`agenttier up` overlays its flags). @default process.env */
  oidcEnv?: Record<string, string | undefined>;
  /**
   * Per-identity rate limits of create, exec and invoke (docs/auth.md).
   * @default env AGENTTIER_RATE_LIMIT_* or DEFAULT_IDENTITY_RATE_LIMITS
   */
  rateLimits?: IdentityRateLimitOpts;
  /** Proxies whose X-Forwarded-For names the client (docs/auth.md); default `AGENTTIER_TRUSTED_PROXIES`, else none. */
  trustedProxies?: string[];
  /**
   * The web UI's built files, served at `/` (docs/web-ui.md); `false`: none.
   * @default packages/web/dist (env AGENTTIER_WEB_ROOT)
   */
  webUiRoot?: string | false;
}

export interface LocalPlatform {
  url: string;
  app: FastifyInstance;
  store: SqliteStore;
  controller: Controller;
  runtime: DockerRuntime;
  /** Durable invoke records and install logs (agent mode). */
  agentRecords: SqliteAgentRecords;
  /** API keys (hashes only), in the state database. */
  apiKeys: SqliteApiKeyStore;
  /** Each sandbox's events feed (`GET …/events`), in the state database. */
  sandboxEvents: SqliteSandboxEvents;
  /**
   * `existing` when it is a valid admin key of this platform, else a new admin key (stored as its
   * hash; the caller keeps the key: `agenttier up` writes it to the CLI config).
   */
  ensureAdminKey(existing?: string): Promise<{ key: string; created: boolean }>;
  close(): Promise<void>;
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);
/** Connecting to a sandbox's socket gives up after this long (the client's own default connect timeout). */
const SANDBOXD_CONNECT_TIMEOUT_MS = 5000;
/** How long close() lets in-flight HTTP requests finish before cutting their connections. */
const CLOSE_GRACE_MS = 2000;

export function pinoAsCoreLogger(log: PinoLogger): Logger {
  return log as unknown as Logger;
}

function numberFromEnv(name: string, dflt: number): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0)
    throw new Error(`${name} must be a non-negative number (got ${JSON.stringify(v)})`);
  return n;
}

/** The create limits of `opts`, else the environment, else DEFAULT_CREATE_LIMITS. */
export function createLimitsOf(opts: LocalPlatformOpts): CreateLimitOpts {
  const d = DEFAULT_CREATE_LIMITS;
  return {
    maxSandboxes: opts.maxSandboxes ?? numberFromEnv('AGENTTIER_MAX_SANDBOXES', d.maxSandboxes),
    createsPerSecond: opts.createsPerSecond ?? numberFromEnv('AGENTTIER_CREATE_RATE', d.createsPerSecond),
    createBurst: opts.createBurst ?? numberFromEnv('AGENTTIER_CREATE_BURST', d.createBurst),
  };
}

/**
 * The loop workspaces for `mode`, or undefined with the reason they are off. Only a rootful engine
 * (Docker or Podman) on a local unix socket sees this host's mounts the way the loop mount needs.
 */
async function workspacesFor(
  mode: 'auto' | 'loop' | 'off',
  docker: ReturnType<typeof createDockerClient>,
  dockerHost: string,
  dataDir: string,
): Promise<{ workspaces?: LoopWorkspaces; off?: string }> {
  if (mode === 'off') return { off: 'turned off (--workspace-quota off)' };
  let reason = await LoopWorkspaces.unavailableReason();
  if (!reason && !dockerHost.startsWith('unix://') && !dockerHost.startsWith('/')) {
    reason = `the engine (${dockerHost}) is not on this machine's unix socket`;
  }
  if (!reason) {
    // Rootful Podman binds the loop-mounted filesystem like Docker does (workspace-quota.int.test.ts
    // passes on both); a rootless one cannot hand a root-owned mount to its user namespace.
    const info = (await docker.info().catch(() => undefined)) as
      { Rootless?: boolean; SecurityOptions?: string[] } | undefined;
    if (info?.Rootless === true || info?.SecurityOptions?.some((o) => o.includes('name=rootless')))
      reason = 'the engine runs rootless';
  }
  if (!reason) return { workspaces: new LoopWorkspaces(join(dataDir, 'workspaces')) };
  if (mode === 'loop') throw new Error(`--workspace-quota loop is not possible here: ${reason}`);
  return { off: reason };
}

/** Loop workspaces: at least ext4's workable minimum, at most the size of the disk holding the data dir. */
function workspaceSizeRange(dataDir: string): { min: number; max: number } {
  mkdirSync(dataDir, { recursive: true });
  const fs = statfsSync(dataDir);
  return { min: MIN_WORKSPACE_BYTES, max: fs.blocks * fs.bsize };
}

/** Router + controller + SQLite store + Docker runtime in one process: `agenttier up`. */
export async function startLocalPlatform(opts: LocalPlatformOpts = {}): Promise<LocalPlatform> {
  const host = opts.host ?? '127.0.0.1';
  const devAuth = opts.devAuth ?? false;
  const oidc = opts.oidc ? checkOidcSettings(opts.oidc) : oidcSettingsFromEnv(opts.oidcEnv ?? process.env);
  if (devAuth && !LOOPBACK.has(host)) {
    throw new Error(
      `refusing to listen on ${host} with --dev-auth: every caller without a key would be an admin. ` +
        'Drop --dev-auth (API keys are on by default) or listen on 127.0.0.1.',
    );
  }
  const createLimits = createLimitsOf(opts);
  const dataDir = opts.dataDir ?? process.env.AGENTTIER_DATA_DIR ?? join(homedir(), '.agenttier');
  const logger =
    opts.logger ??
    pino(
      { level: opts.logLevel ?? 'info', redact: ['req.headers.authorization', 'req.headers["x-api-key"]'] },
      pino.destination(2),
    );
  const docker = createDockerClient(opts.dockerHost);
  try {
    await docker.ping();
  } catch (err) {
    throw new Error(
      `cannot reach the Docker engine (${opts.dockerHost ?? defaultDockerHost()}): ${(err as Error).message}. ` +
        'Start one with `bash scripts/engine.sh` (or `npm run up`), or set AGENTTIER_DOCKER_HOST.',
    );
  }
  const quotaMode = opts.workspaceQuota ?? process.env.AGENTTIER_WORKSPACE_QUOTA ?? 'auto';
  if (quotaMode !== 'auto' && quotaMode !== 'loop' && quotaMode !== 'off') {
    throw new Error(`workspace quota must be auto, loop or off (got ${JSON.stringify(quotaMode)})`);
  }
  const { workspaces, off } = await workspacesFor(
    quotaMode,
    docker,
    opts.dockerHost ?? defaultDockerHost(),
    dataDir,
  );
  if (off) logger.warn({ reason: off }, 'storage.size is not enforced: workspaces are plain engine volumes');
  const store = new SqliteStore({ path: join(dataDir, 'state.db') });
  // Secret values: their own 0600 database, sealed with a key in a 0600 file beside it (docs/security.md).
  const secrets = new SqliteSecretStore({
    path: join(dataDir, 'secrets.db'),
    key: loadOrCreateSecretKey(join(dataDir, 'secrets.key')),
  });
  await seedTemplates(store);
  // The events feed lives as long as its sandbox: dropped when the object goes, and at start for
  // sandboxes deleted while the platform was down.
  const sandboxEvents = new SqliteSandboxEvents(join(dataDir, 'state.db'));
  const unwatchEvents = store.watch('Sandbox', (e) => {
    if (e.type === 'DELETED' && e.object.metadata.uid) sandboxEvents.forget(e.object.metadata.uid);
  });
  sandboxEvents.keepOnly(
    new Set(
      (await store.list<Sandbox>('Sandbox')).map((sb) => sb.metadata.uid).filter((u) => u !== undefined),
    ),
  );
  let bundle: SandboxdBundle | undefined;
  if (opts.sandboxd !== false) {
    try {
      bundle = await ensureSandboxdBundle();
    } catch (err) {
      logger.warn({ err: (err as Error).message }, 'sandboxd bundle unavailable; sandboxes use engine exec');
    }
  }
  // The engine may see its data root at a path of its own (scripts/engine.sh, own-fs layout).
  const hostPathOf = await engineHostPaths(docker);
  let staged: StagedSandboxd | undefined;
  if (bundle) {
    try {
      staged = await stageSandboxdVolumes({
        docker,
        bundleDir: bundle.dir,
        nodeBinary: bundle.nodeBinary,
        hostPathOf,
      });
    } catch (err) {
      logger.warn(
        { err: (err as Error).message },
        "could not stage sandboxd in an engine volume; bind-mounting it instead (sandboxes' mountinfo then shows where AgentTier is installed)",
      );
    }
  }
  // The router's credentials and socket locations live in its memory (learnt from the engine), never in
  // a file the sandbox can write; the socket is reached without following links (docs/security.md).
  const clients = createSandboxdClientCache((sb) => {
    const channel = runtime.channel(sb);
    if (!channel) return undefined;
    return {
      incarnation: channel.containerId,
      token: channel.token,
      target: {
        connect: () =>
          connectNoFollow({
            dir: channel.hostRunDir,
            name: SANDBOXD_SOCKET_NAME,
            timeoutMs: SANDBOXD_CONNECT_TIMEOUT_MS,
          }),
      },
    };
  });
  const runtime: DockerRuntime = new DockerRuntime({
    docker,
    instanceId: instanceIdOf(dataDir),
    hostPathOf,
    ...(workspaces ? { workspaces } : {}),
    // Template runtime classes -> engine runtimes (daemon.json "runtimes"; scripts/engine.sh registers runsc).
    runtimeClasses: { gvisor: 'runsc' },
    ...(opts.onRuntimeStep ? { onStep: opts.onRuntimeStep } : {}),
    secretValues: (owner, namespace, name) => secrets.values(owner, namespace, name),
    logger: pinoAsCoreLogger(logger).child({ component: 'runtime' }),
    // Look at a sandbox as soon as its daemon listens, not at its next readiness poll.
    onSandboxdListening: (sb) => controller.enqueue(sb.metadata.namespace ?? 'default', sb.metadata.name),
    ...(bundle
      ? {
          sandboxd: {
            bundleDir: bundle.dir,
            entry: 'sandboxd.mjs',
            nodeBinDir: dirname(bundle.nodeBinary),
            nodeBinaryName: 'node',
            // The privileged first step (socket out of the sandbox's reach, token off its /proc).
            ...(existsSync(join(bundle.dir, SANDBOXD_LAUNCH_FILE)) ? { launch: SANDBOXD_LAUNCH_FILE } : {}),
            ...(staged ? { volumes: { bundle: staged.bundleVolume, node: staged.nodeVolume } } : {}),
          },
          readinessProbe: async (sb: Sandbox) => {
            await clients.get(sb).health({ timeoutMs: 1000 });
            return true;
          },
        }
      : {}),
  });
  const controller = createController({
    store,
    runtime,
    concurrency: opts.controllerConcurrency ?? 32,
    logger: pinoAsCoreLogger(logger),
    ...(opts.resyncIntervalMs ? { resyncIntervalMs: opts.resyncIntervalMs } : {}),
    onTransition: (sb, from, to, message, { reconcileId }) =>
      logger.info(
        { sandbox: `${sb.metadata.namespace}/${sb.metadata.name}`, reconcileId, from, to, message },
        'phase',
      ),
    onEvent: (sb, event) => {
      try {
        sandboxEvents.record(sb, event);
      } catch (err) {
        logger.warn(
          { err: (err as Error).message, reason: event.reason },
          'could not record a sandbox event',
        );
      }
    },
  });
  const engine = new EngineDataPlane(docker);
  const fast = bundle ? new SandboxdDataPlane((sb) => clients.get(sb), engine) : undefined;
  const dataPlaneFor = async (_sb: Sandbox): Promise<DataPlane> => fast ?? engine;
  const agentRecords = new SqliteAgentRecords(join(dataDir, 'state.db'));
  const interrupted = agentRecords.interruptRunning('the server stopped while this invoke ran');
  if (interrupted > 0)
    logger.warn({ interrupted }, 'closed the records of invokes cut off by the last shutdown');
  const apiKeys = new SqliteApiKeyStore(join(dataDir, 'state.db'));
  const auditLog = new SqliteAuditLog(join(dataDir, 'state.db'), auditRetentionFromEnv(process.env));
  const sessions = new SqliteSessionStore(join(dataDir, 'state.db'));
  // Preview links and preview sessions survive a restart too (hashes only, single use kept).
  const previewGrants = new SqlitePreviewGrantStore(join(dataDir, 'state.db'));
  if (oidc)
    logger.info({ issuer: oidc.issuer, audience: oidc.audience, login: Boolean(oidc.clientId) }, 'OIDC on');
  if (devAuth)
    logger.warn(
      'DEVELOPMENT AUTHENTICATION (--dev-auth): every local caller without a key is an admin, including any process of any user on this machine; never use it on a shared machine',
    );
  const tls = readTlsPair(opts.tlsCertPath, opts.tlsKeyPath);
  const app = createApp({
    ...(tls ? { tls } : {}),
    store,
    dataPlaneFor,
    agentRecords,
    apiKeys,
    auditLog,
    sandboxEvents,
    secrets,
    // Browser sessions (web UI login): cookies Secure and __Host- only when served over TLS.
    sessions: { store: sessions, secureCookies: tls !== undefined },
    previewSessions: { store: previewGrants },
    ...(oidc ? { oidc } : {}),
    devAuth,
    sandboxdFor: (sb) => (bundle ? clients.get(sb) : undefined),
    logger,
    enqueue: (ns, name) => controller.enqueue(ns, name),
    readinessChecks: [async () => void (await docker.ping())],
    createLimits,
    rateLimits: opts.rateLimits ?? rateLimitsFromEnv(process.env),
    trustedProxies: opts.trustedProxies ?? trustedProxiesFromEnv(process.env),
    childNameOf: (namespace, name) => workloadName({ metadata: { namespace, name } }),
    // A sandbox may ask for up to the whole machine, never more (the engine would accept it and fail).
    capacity: {
      cpuMillis: availableParallelism() * 1000,
      memoryBytes: totalmem(),
      ...(workspaces ? { storageBytes: workspaceSizeRange(dataDir) } : {}),
    },
    ...(opts.webUiRoot === false ? {} : { webUi: { root: opts.webUiRoot ?? defaultWebUiRoot() } }),
    http: {
      ...opts.limits,
      ...(opts.allowedHosts ? { allowedHosts: opts.allowedHosts } : {}),
      ...(opts.corsOrigins ? { corsOrigins: opts.corsOrigins } : {}),
      ...(opts.previewOrigin ? { previewOrigin: opts.previewOrigin } : {}),
    },
  });
  await runtime.loadChannels();
  await controller.start();
  const address = await app.listen({ host, port: opts.port ?? Number(process.env.AGENTTIER_PORT ?? 8080) });
  const url = address.replace('[::1]', 'localhost');
  logger.info({ url, dataDir }, 'AgentTier is listening');
  let closing: Promise<void> | undefined;
  return {
    url,
    app,
    store,
    controller,
    runtime,
    agentRecords,
    apiKeys,
    sandboxEvents,
    async ensureAdminKey(existing) {
      if (existing && API_KEY_RE.test(existing)) {
        const r = await apiKeys.findByHash(hashApiKey(existing));
        if (r?.owner.isAdmin && (!r.expiresAt || Date.parse(r.expiresAt) > Date.now()))
          return { key: existing, created: false };
      }
      const key = generateApiKey();
      await apiKeys.insert({
        id: newKeyId(),
        name: 'local admin (agenttier up)',
        hash: hashApiKey(key),
        owner: { id: 'admin', name: 'Local admin', groups: ['agenttier-admins'], isAdmin: true },
        createdAt: new Date().toISOString(),
      });
      return { key, created: true };
    },
    close() {
      // Idempotent: a second close (a test's afterAll after the test closed it, Ctrl-C twice) waits
      // for the first instead of closing the databases again.
      closing ??= (async () => {
        // preClose hooks end WebSockets and tunnels; requests still streaming (an exec, an SSE feed)
        // get a short grace and are then cut, so `agenttier up` stops promptly on Ctrl-C.
        const force = setTimeout(() => app.server.closeAllConnections(), CLOSE_GRACE_MS);
        try {
          await app.close();
        } finally {
          clearTimeout(force);
        }
        await controller.stop();
        clients.closeAll();
        agentRecords.close();
        apiKeys.close();
        secrets.close();
        auditLog.close();
        sessions.close();
        previewGrants.close();
        unwatchEvents();
        sandboxEvents.close();
        await store.close();
      })();
      return closing;
    },
  };
}

/** Adds the built-in templates that are missing; never overwrites a user's edits. */
export async function seedTemplates(store: SqliteStore): Promise<void> {
  for (const t of BUILTIN_TEMPLATES) {
    if (await store.get<SandboxTemplate>('ClusterSandboxTemplate', { name: t.metadata.name })) continue;
    await store.create(t).catch((err: unknown) => {
      if (!isPlatformError(err) || err.code !== 'ALREADY_EXISTS') throw err;
    });
  }
}

/** The PEM pair to serve HTTPS with, read once at start; a clear error for half a pair or an unreadable file. */
function readTlsPair(
  certPath: string | undefined,
  keyPath: string | undefined,
): { cert: Buffer; key: Buffer } | undefined {
  if (!certPath && !keyPath) return undefined;
  if (!certPath || !keyPath)
    throw new Error('TLS needs both a certificate and a key: pass --tls-cert and --tls-key together');
  const read = (path: string, what: string): Buffer => {
    try {
      return readFileSync(path);
    } catch (err) {
      throw new Error(`cannot read the TLS ${what} ${path}: ${(err as Error).message}`);
    }
  };
  return { cert: read(certPath, 'certificate'), key: read(keyPath, 'key') };
}

/** A stable id per data dir: the engine may host several installs (and parallel test runs). */
export function instanceIdOf(dataDir: string): string {
  const file = join(dataDir, 'instance-id');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dataDir, { recursive: true });
  const id = randomBytes(6).toString('hex');
  writeFileSync(file, id);
  return id;
}
