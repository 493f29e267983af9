import type { SandboxTemplate } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { buildCrds } from '../crd/crds.ts';
import type { RouterNetworkPolicyInput } from '../runtime/router-network-policy.ts';
import { buildRouterNetworkPolicy } from '../runtime/router-network-policy.ts';
import type { PolicyRule } from '../rbac/rbac.ts';
import { CONTROLLER_CALLS, ROUTER_CALLS, rulesFor } from '../rbac/rbac.ts';

export interface InstallOpts {
  /** @default 'agenttier' */
  namespace?: string;
  /** Image of `agenttier controller|router`. @default 'agenttier/controller:dev' */
  image?: string;
  /** @default 'agenttier/sandboxd-injector:dev' */
  injectorImage?: string;
  /**
   * How the controller starts sandbox pods (AGENTTIER_SANDBOX_POD_SECURITY): `baseline` needs sandbox
   * namespaces that admit Pod Security baseline; `restricted` is weaker (docs/kubernetes.md). @default 'baseline'
   */
  sandboxPodSecurity?: 'baseline' | 'restricted';
  /** Prefix of the default templates' images (`<registry>/minimal-shell:<tag>`). @default 'agenttier' */
  templateRegistry?: string;
  /** @default 'dev' */
  templateTag?: string;
  /** Router without authentication (every caller is admin): private test clusters only. @default false */
  devAuth?: boolean;
  /** Adds a RuntimeClass and sets it on the default templates (gVisor: `{name: 'gvisor', handler: 'runsc'}`). */
  runtimeClass?: { name: string; handler: string };
  /** @default true */
  includeCrds?: boolean;
  /** @default true */
  includeNamespace?: boolean;
  /**
   * With router persistence (the default) exactly 1: invoke records live on the router's own volume.
   * @default 1
   */
  routerReplicas?: number;
  /**
   * The router's data volume (agent-mode invoke records and install logs, SQLite at
   * /var/lib/agenttier): a PersistentVolumeClaim, or `false` for an emptyDir (records lost whenever
   * the pod goes). @default { size: '1Gi' }
   */
  routerPersistence?: false | { size?: string; storageClass?: string };
  /** @default 1 (more replicas stand by on the Lease) */
  controllerReplicas?: number;
  /**
   * Namespaces that host sandboxes: the controller and router get a Role in each (writes, Secrets)
   * and only cross-namespace reads cluster-wide. A sandbox elsewhere cannot be started. @default ['default']
   */
  sandboxNamespaces?: string[];
  /**
   * The router's NetworkPolicy (who may reach it, what it may reach), or `false` for none.
   * @default {} (every pod but sandboxes in; API server, DNS and sandboxd out)
   */
  routerNetworkPolicy?: false | Omit<RouterNetworkPolicyInput, 'namespace' | 'podLabels' | 'labels'>;
}

type Obj = Record<string, unknown>;

/** Where the router keeps its SQLite invoke records inside its container. */
export const ROUTER_DATA_DIR = '/var/lib/agenttier';
export const ROUTER_DATA_CLAIM = 'agenttier-router-data';
/** The uid/gid the process containers run as (also the router volume's fsGroup). */
const PROCESS_UID = 65532;

export const APP_LABELS = { 'app.kubernetes.io/name': 'agenttier', 'app.kubernetes.io/part-of': 'agenttier' };
const component = (c: string) => ({ ...APP_LABELS, 'app.kubernetes.io/component': c });

export function clusterRules(who: 'controller' | 'router'): PolicyRule[] {
  return rulesFor(who === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS, 'cluster');
}

export function installNamespaceRules(who: 'controller' | 'router'): PolicyRule[] {
  return rulesFor(who === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS, 'install');
}

/** The Role each sandbox namespace gets (name `agenttier-<who>-sandboxes`). */
export function sandboxNamespaceRules(who: 'controller' | 'router'): PolicyRule[] {
  return rulesFor(who === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS, 'sandbox');
}

function rbac(who: 'controller' | 'router', ns: string, sandboxNamespaces: string[]): Obj[] {
  const name = `agenttier-${who}`;
  const labels = component(who);
  const subject = { kind: 'ServiceAccount', name, namespace: ns };
  return [
    {
      apiVersion: 'v1',
      kind: 'ServiceAccount',
      metadata: { name, namespace: ns, labels },
      automountServiceAccountToken: true,
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRole',
      metadata: { name, labels },
      rules: clusterRules(who),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'ClusterRoleBinding',
      metadata: { name, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name },
      subjects: [subject],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name, namespace: ns, labels },
      rules: installNamespaceRules(who),
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name, namespace: ns, labels },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [subject],
    },
    ...sandboxNamespaces.flatMap((sandboxNs) => [
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: `${name}-sandboxes`, namespace: sandboxNs, labels },
        rules: sandboxNamespaceRules(who),
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: `${name}-sandboxes`, namespace: sandboxNs, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: `${name}-sandboxes` },
        subjects: [subject],
      },
    ]),
  ];
}

/** The process containers: non-root, read-only root, no capabilities; like the sandboxes they manage. */
const processSecurity = {
  runAsNonRoot: true,
  runAsUser: PROCESS_UID,
  runAsGroup: PROCESS_UID,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

const downwardEnv = [
  { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
  { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
];

function deployment(
  who: 'controller' | 'router',
  ns: string,
  o: Required<Pick<InstallOpts, 'image' | 'injectorImage' | 'devAuth' | 'sandboxPodSecurity'>> & {
    replicas: number;
    sandboxNamespaces: string[];
    /** Router only: its data volume is this claim (else an emptyDir). */
    dataClaim?: string;
  },
): Obj {
  const name = `agenttier-${who}`;
  const labels = component(who);
  const ports =
    who === 'controller'
      ? [
          { name: 'metrics', containerPort: 8081, protocol: 'TCP' },
          { name: 'health', containerPort: 8082, protocol: 'TCP' },
        ]
      : [{ name: 'http', containerPort: 8080, protocol: 'TCP' }];
  const probePort = who === 'controller' ? 'health' : 'http';
  // Both watch and act only in the namespaces their Roles cover.
  const hosted = { name: 'AGENTTIER_SANDBOX_NAMESPACES', value: o.sandboxNamespaces.join(',') };
  const env =
    who === 'controller'
      ? [
          ...downwardEnv,
          hosted,
          { name: 'AGENTTIER_INJECTOR_IMAGE', value: o.injectorImage },
          { name: 'AGENTTIER_SANDBOX_POD_SECURITY', value: o.sandboxPodSecurity },
        ]
      : [
          ...downwardEnv,
          hosted,
          { name: 'AGENTTIER_DEV_AUTH', value: String(o.devAuth) },
          { name: 'AGENTTIER_DATA_DIR', value: ROUTER_DATA_DIR },
          // Host allow-list (DNS rebinding): the router's Service names besides loopback.
          { name: 'AGENTTIER_ALLOWED_HOSTS', value: serviceHostNames(name, ns).join(',') },
        ];
  const volumeMounts: Obj[] = [{ name: 'tmp', mountPath: '/tmp' }];
  const volumes: Obj[] = [{ name: 'tmp', emptyDir: {} }];
  if (who === 'router') {
    volumeMounts.push({ name: 'data', mountPath: ROUTER_DATA_DIR });
    volumes.push(
      o.dataClaim
        ? { name: 'data', persistentVolumeClaim: { claimName: o.dataClaim } }
        : { name: 'data', emptyDir: {} },
    );
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: o.replicas,
      // The router's records are on a ReadWriteOnce volume: the old pod lets go before the new one mounts it.
      ...(o.dataClaim ? { strategy: { type: 'Recreate' } } : {}),
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          securityContext: {
            runAsNonRoot: true,
            seccompProfile: { type: 'RuntimeDefault' },
            ...(who === 'router' ? { fsGroup: PROCESS_UID } : {}),
          },
          containers: [
            {
              name: who,
              image: o.image,
              args: [who],
              env,
              ports,
              livenessProbe: { httpGet: { path: '/healthz', port: probePort }, periodSeconds: 10 },
              readinessProbe: { httpGet: { path: '/readyz', port: probePort }, periodSeconds: 5 },
              resources:
                who === 'controller'
                  ? { requests: { cpu: '100m', memory: '128Mi' }, limits: { cpu: '500m', memory: '512Mi' } }
                  : { requests: { cpu: '100m', memory: '256Mi' }, limits: { cpu: '1', memory: '1Gi' } },
              securityContext: processSecurity,
              volumeMounts,
            },
          ],
          volumes,
        },
      },
    },
  };
}

/** The built-in templates with cluster images (core's point at locally built `:dev` images with pullPolicy Never). */
export function defaultTemplates(registry: string, tag: string, runtimeClass?: string): SandboxTemplate[] {
  return BUILTIN_TEMPLATES.map((t) => {
    const out = structuredClone(t);
    const repo = out.spec.image?.repository
      .replace(/^agenttier\//, `${registry}/`)
      .replace(/:[^:/]+$/, `:${tag}`);
    if (repo) out.spec.image = { repository: repo, pullPolicy: 'IfNotPresent' };
    if (runtimeClass) out.spec.runtimeClass = runtimeClass;
    return out;
  });
}

/** The names a Service is reached by inside the cluster. */
function serviceHostNames(service: string, ns: string): string[] {
  return [service, `${service}.${ns}`, `${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`];
}

/**
 * Everything `agenttier install --render` prints and `--apply` applies: CRDs, namespace, RBAC, the
 * controller and router Deployments, the router Service and the default templates. The kustomize
 * base in deploy/ is this output with the defaults.
 */
export function renderInstallManifests(opts: InstallOpts = {}): Obj[] {
  const ns = opts.namespace ?? 'agenttier';
  const common = {
    image: opts.image ?? 'agenttier/controller:dev',
    injectorImage: opts.injectorImage ?? 'agenttier/sandboxd-injector:dev',
    sandboxPodSecurity: opts.sandboxPodSecurity ?? 'baseline',
    devAuth: opts.devAuth ?? false,
  };
  const out: Obj[] = [];
  if (opts.includeCrds ?? true) out.push(...buildCrds());
  if (opts.includeNamespace ?? true)
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: APP_LABELS } });
  const sandboxNamespaces = opts.sandboxNamespaces ?? ['default'];
  out.push(...rbac('controller', ns, sandboxNamespaces), ...rbac('router', ns, sandboxNamespaces));
  out.push(
    deployment('controller', ns, { ...common, sandboxNamespaces, replicas: opts.controllerReplicas ?? 1 }),
  );
  const persistence = opts.routerPersistence ?? {};
  const routerReplicas = opts.routerReplicas ?? 1;
  if (persistence && routerReplicas > 1) {
    throw new Error(
      `the router keeps agent-mode invoke records on its own volume, so it runs 1 replica (asked for ${routerReplicas}); turn router persistence off to run more, and lose the records on every restart`,
    );
  }
  if (persistence) {
    out.push({
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      metadata: { name: ROUTER_DATA_CLAIM, namespace: ns, labels: component('router') },
      spec: {
        accessModes: ['ReadWriteOnce'],
        resources: { requests: { storage: persistence.size ?? '1Gi' } },
        ...(persistence.storageClass ? { storageClassName: persistence.storageClass } : {}),
      },
    });
  }
  out.push(
    deployment('router', ns, {
      ...common,
      sandboxNamespaces,
      replicas: routerReplicas,
      ...(persistence ? { dataClaim: ROUTER_DATA_CLAIM } : {}),
    }),
  );
  const routerPolicy = opts.routerNetworkPolicy ?? {};
  if (routerPolicy) {
    out.push(
      buildRouterNetworkPolicy({
        ...routerPolicy,
        namespace: ns,
        podLabels: component('router'),
        labels: component('router'),
      }),
    );
  }
  out.push({
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'agenttier-router', namespace: ns, labels: component('router') },
    spec: {
      type: 'ClusterIP',
      selector: component('router'),
      ports: [{ name: 'http', port: 8080, targetPort: 'http', protocol: 'TCP' }],
    },
  });
  if (opts.runtimeClass) {
    out.push({
      apiVersion: 'node.k8s.io/v1',
      kind: 'RuntimeClass',
      metadata: { name: opts.runtimeClass.name, labels: APP_LABELS },
      handler: opts.runtimeClass.handler,
    });
  }
  out.push(
    ...(defaultTemplates(
      opts.templateRegistry ?? 'agenttier',
      opts.templateTag ?? 'dev',
      opts.runtimeClass?.name,
    ) as unknown as Obj[]),
  );
  return out;
}
