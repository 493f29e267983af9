import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Logger as PinoLogger } from 'pino';
import type { Controller, Logger } from '@agenttier/core';
import { createController, templateLookup, transitionEvent } from '@agenttier/core';
import type {
  DnsPeer,
  DomainResolver,
  PodScheduling,
  RouterPeer,
  SandboxPodSecurity,
} from '@agenttier/platform-kubernetes';
import {
  DEFAULT_DNS,
  SANDBOX_POD_SECURITY_LEVELS,
  DomainRefresher,
  KubernetesRuntime,
  KubernetesStore,
  loadKubeConfig,
  parseCidr,
  withChildNamesInStatus,
} from '@agenttier/platform-kubernetes';
import type { Endpoints } from '../http-endpoints.ts';
import { namespaceList } from '../namespace-list.ts';
import { serveEndpoints } from '../http-endpoints.ts';
import { withConflictEvents } from './conflict-events.ts';
import { createEventRecorder } from './events.ts';
import { withForeignChildEvents } from './foreign-child-events.ts';
import type { EventRecorder } from './events.ts';
import type { LeaderElector } from './leader-election.ts';
import { startLeaderElection } from './leader-election.ts';
import { createControllerMetrics } from './metrics.ts';

export const CONTROLLER_COMPONENT = 'agenttier-controller';
export const DEFAULT_INJECTOR_IMAGE = 'agenttier/sandboxd-injector:dev';
export const DEFAULT_ROUTER_LABELS = {
  'app.kubernetes.io/name': 'agenttier',
  'app.kubernetes.io/component': 'router',
};

/** `k=v,k2=v2` into labels; throws on an entry without `=`. */
export function parseLabels(text: string, what: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new Error(`${what}: "${part}" is not key=value`);
    out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  if (!Object.keys(out).length) throw new Error(`${what} names no labels`);
  return out;
}

/** `baseline` or `restricted` (AGENTTIER_SANDBOX_POD_SECURITY, --sandbox-pod-security); anything else stops the start. */
export function parseSandboxPodSecurity(v: string, what: string): SandboxPodSecurity {
  const level = SANDBOX_POD_SECURITY_LEVELS.find((l) => l === v.trim());
  if (!level) throw new Error(`${what} must be baseline or restricted (got ${JSON.stringify(v)})`);
  return level;
}

/** Settings the Deployment passes as environment variables (flags win over them). */
function envOpts(env: NodeJS.ProcessEnv): Partial<ControllerProcessOpts> {
  const out: Partial<ControllerProcessOpts> = {};
  if (env.AGENTTIER_LEADER_ELECT) out.leaderElection = env.AGENTTIER_LEADER_ELECT !== 'false';
  if (env.AGENTTIER_CONCURRENCY && Number(env.AGENTTIER_CONCURRENCY) > 0)
    out.concurrency = Number(env.AGENTTIER_CONCURRENCY);
  if (env.AGENTTIER_BLOCKED_CIDRS !== undefined) {
    out.blockedCidrs = env.AGENTTIER_BLOCKED_CIDRS.split(',')
      .map((c) => c.trim())
      .filter(Boolean);
  }
  if (env.AGENTTIER_DNS_NAMESPACE || env.AGENTTIER_DNS_POD_LABELS) {
    out.dns = {
      namespace: env.AGENTTIER_DNS_NAMESPACE || DEFAULT_DNS.namespace,
      podLabels: env.AGENTTIER_DNS_POD_LABELS
        ? parseLabels(env.AGENTTIER_DNS_POD_LABELS, 'AGENTTIER_DNS_POD_LABELS')
        : DEFAULT_DNS.podLabels,
    };
  }
  if (env.AGENTTIER_INJECTOR_IMAGE) out.injectorImage = env.AGENTTIER_INJECTOR_IMAGE;
  if (env.AGENTTIER_SANDBOX_POD_SECURITY)
    out.podSecurity = parseSandboxPodSecurity(
      env.AGENTTIER_SANDBOX_POD_SECURITY,
      'AGENTTIER_SANDBOX_POD_SECURITY',
    );
  const namespaces = namespaceList(env.AGENTTIER_SANDBOX_NAMESPACES);
  if (namespaces) out.sandboxNamespaces = namespaces;
  return out;
}

export interface ControllerProcessOpts {
  kubeConfig?: KubeConfig;
  kubeconfigPath?: string;
  /** Install namespace: the Lease and the router live here. @default $POD_NAMESPACE or 'agenttier' */
  namespace?: string;
  /** This replica's name in the Lease. @default $POD_NAME or hostname + random suffix */
  identity?: string;
  /** @default true */
  leaderElection?: boolean;
  leaseName?: string;
  leaseDurationSeconds?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** /healthz and /readyz. @default 8082 (0 picks a free port) */
  healthPort?: number;
  /** /metrics. @default 8081 */
  metricsPort?: number;
  /** @default '0.0.0.0' */
  host?: string;
  /** @default agenttier/sandboxd-injector:dev */
  injectorImage?: string;
  /**
   * How sandbox pods start (docs/kubernetes.md, "Pod security"): `baseline` runs a root first step
   * that keeps sandboxd's port and token out of the sandbox's reach; `restricted` (for namespaces
   * that enforce it) runs everything as uid 1000, which leaves both within reach. @default 'baseline'
   */
  podSecurity?: SandboxPodSecurity;
  /** Labels of the router pods allowed to reach sandboxd. */
  routerPodLabels?: Record<string, string>;
  concurrency?: number;
  resyncIntervalMs?: number;
  scheduling?: PodScheduling;
  /** Never reachable from sandboxes (cluster, private and link-local ranges). @default DEFAULT_BLOCKED_CIDRS */
  blockedCidrs?: string[];
  /**
   * Namespaces that host sandboxes: the controller watches and acts only there (RBAC: a Role each),
   * and a sandbox elsewhere goes to Error. @default every namespace
   */
  sandboxNamespaces?: string[];
  /** The cluster DNS pods sandboxes may query. @default kube-system / k8s-app=kube-dns */
  dns?: DnsPeer;
  resolver?: DomainResolver;
  /** How often allowed domains are re-resolved into NetworkPolicy ipBlocks. @default 300000 */
  domainRefreshMs?: number;
  logger?: PinoLogger;
  /** Level of the default logger (JSON lines on stderr). @default $AGENTTIER_LOG_LEVEL or 'info' */
  logLevel?: string;
}

export interface ControllerProcess {
  store: KubernetesStore;
  runtime: KubernetesRuntime;
  elector?: LeaderElector;
  events: EventRecorder;
  /** The running control loop while this replica leads. */
  controller(): Controller | undefined;
  isLeader(): boolean;
  healthUrl: string;
  metricsUrl: string;
  close(): Promise<void>;
}

/**
 * `agenttier controller`: informers on Sandboxes, templates and sandbox Pods; core's reconciler
 * (unchanged) driving the Kubernetes runtime while this replica holds the Lease; an Event for every
 * phase change; probes and Prometheus metrics.
 */
export async function startController(given: ControllerProcessOpts = {}): Promise<ControllerProcess> {
  const opts: ControllerProcessOpts = { ...envOpts(process.env), ...given };
  const namespace = opts.namespace ?? process.env.POD_NAMESPACE ?? 'agenttier';
  const identity = opts.identity ?? process.env.POD_NAME ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  const log =
    opts.logger ??
    pino({ level: opts.logLevel ?? process.env.AGENTTIER_LOG_LEVEL ?? 'info' }, pino.destination(2));
  const logger = log as unknown as Logger;
  const kc = loadKubeConfig({
    ...(opts.kubeConfig ? { kubeConfig: opts.kubeConfig } : {}),
    ...(opts.kubeconfigPath ? { kubeconfigPath: opts.kubeconfigPath } : {}),
    userAgent: `${CONTROLLER_COMPONENT}/0.1.0`,
  });

  // A typo in a blocked range must stop the start, not silently open the cluster to sandboxes.
  const blockedCidrs = opts.blockedCidrs?.map((c) => {
    try {
      return parseCidr(c);
    } catch (err) {
      throw new Error(`blocked CIDRs (AGENTTIER_BLOCKED_CIDRS): ${(err as Error).message}`, { cause: err });
    }
  });
  // Namespace-scoped (rbac.sandboxNamespaces): Sandboxes and SandboxTemplates are listed and watched
  // per namespace, never cluster-wide.
  const store = new KubernetesStore({
    kubeConfig: kc,
    logger,
    ...(opts.sandboxNamespaces?.length ? { namespaces: opts.sandboxNamespaces } : {}),
  });
  let loop: Controller | undefined;
  const runtime = new KubernetesRuntime({
    kubeConfig: kc,
    injectorImage: opts.injectorImage ?? DEFAULT_INJECTOR_IMAGE,
    ...(opts.podSecurity ? { podSecurity: opts.podSecurity } : {}),
    router: { namespace, podLabels: opts.routerPodLabels ?? DEFAULT_ROUTER_LABELS } satisfies RouterPeer,
    templates: templateLookup(store),
    logger,
    onPodChange: (ns, name) => loop?.enqueue(ns, name),
    ...(opts.scheduling ? { scheduling: opts.scheduling } : {}),
    ...(blockedCidrs ? { blockedCidrs } : {}),
    ...(opts.dns ? { dns: opts.dns } : {}),
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
    ...(opts.sandboxNamespaces?.length ? { sandboxNamespaces: opts.sandboxNamespaces } : {}),
  });
  const metrics = createControllerMetrics(store);
  const events = createEventRecorder(kc, { component: CONTROLLER_COMPONENT, instance: identity, logger });
  const host = opts.host ?? '0.0.0.0';
  const endpoints: Endpoints[] = [];
  const health = await serveEndpoints({ host, port: opts.healthPort ?? 8082, ready: () => store.hasSynced });
  endpoints.push(health);
  const metricsServer = await serveEndpoints({
    host,
    port: opts.metricsPort ?? 8081,
    registry: metrics.registry,
  });
  endpoints.push(metricsServer);

  await Promise.all([store.start(), runtime.start()]);

  const refresher = new DomainRefresher({
    kubeConfig: kc,
    logger,
    ...(opts.resolver ? { resolver: opts.resolver } : {}),
    ...(blockedCidrs ? { blockedCidrs } : {}),
    ...(opts.sandboxNamespaces?.length ? { namespaces: opts.sandboxNamespaces } : {}),
    ...(opts.domainRefreshMs ? { intervalMs: opts.domainRefreshMs } : {}),
  });
  const lead = async () => {
    metrics.leader.set(1);
    refresher.start();
    loop = createController({
      // Status names the sandbox's Pod and claim (kubectl get sb -o wide, the REST view).
      // 409s on a Sandbox are also Events on it (kubectl describe), see conflict-events.ts.
      store: withConflictEvents(withChildNamesInStatus(store), events),
      // An object we do not own under a child's name is a Warning Event too, see foreign-child-events.ts.
      runtime: withForeignChildEvents(runtime, events),
      logger,
      ...(opts.concurrency ? { concurrency: opts.concurrency } : {}),
      ...(opts.resyncIntervalMs ? { resyncIntervalMs: opts.resyncIntervalMs } : {}),
      onTransition: (sb, from, to, message, { reconcileId }) => {
        const ev = transitionEvent(sb, from, to, message);
        metrics.transitions.inc({ to, reason: ev.reason });
        log.info(
          {
            sandbox: `${sb.metadata.namespace}/${sb.metadata.name}`,
            reconcileId,
            from,
            to,
            reason: ev.reason,
          },
          'phase',
        );
      },
      // Phase changes and back-offs become core/v1 Events on the Sandbox: the events feed on Kubernetes.
      onEvent: (sb, ev) => events.record(sb, ev),
    });
    await loop.start();
  };
  const follow = async () => {
    metrics.leader.set(0);
    refresher.stop();
    const l = loop;
    loop = undefined;
    await l?.stop();
  };

  let elector: LeaderElector | undefined;
  if (opts.leaderElection === false) await lead();
  else {
    elector = startLeaderElection({
      kubeConfig: kc,
      namespace,
      identity,
      logger,
      onStartedLeading: lead,
      onStoppedLeading: follow,
      ...(opts.leaseName ? { leaseName: opts.leaseName } : {}),
      ...(opts.leaseDurationSeconds ? { leaseDurationSeconds: opts.leaseDurationSeconds } : {}),
      ...(opts.renewDeadlineMs ? { renewDeadlineMs: opts.renewDeadlineMs } : {}),
      ...(opts.retryPeriodMs ? { retryPeriodMs: opts.retryPeriodMs } : {}),
    });
  }
  log.info({ namespace, identity, health: health.url, metrics: metricsServer.url }, 'controller started');

  return {
    store,
    runtime,
    events,
    ...(elector ? { elector } : {}),
    controller: () => loop,
    isLeader: () => (elector ? elector.isLeader : loop !== undefined),
    healthUrl: health.url,
    metricsUrl: metricsServer.url,
    async close() {
      if (elector) await elector.stop();
      else await follow();
      await events.flush();
      await runtime.stop();
      await store.close();
      await Promise.all(endpoints.map((e) => e.close()));
    },
  };
}
