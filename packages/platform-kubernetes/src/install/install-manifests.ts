import type { SandboxTemplate } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { buildCrds } from '../crd/crds.ts';
import type { PolicyRule } from '../rbac/rbac.ts';
import { CONTROLLER_CALLS, ROUTER_CALLS, SANDBOXD_KEY_SECRET_NAME, rulesFor } from '../rbac/rbac.ts';

export interface InstallOpts {
  /** @default 'agenttier' */
  namespace?: string;
  /** Image of `agenttier controller|router`. @default 'agenttier/controller:dev' */
  image?: string;
  /** @default 'agenttier/sandboxd-injector:dev' */
  injectorImage?: string;
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
  /** @default 2 */
  routerReplicas?: number;
  /** @default 1 (more replicas stand by on the Lease) */
  controllerReplicas?: number;
}

type Obj = Record<string, unknown>;

export const APP_LABELS = { 'app.kubernetes.io/name': 'agenttier', 'app.kubernetes.io/part-of': 'agenttier' };
const component = (c: string) => ({ ...APP_LABELS, 'app.kubernetes.io/component': c });

export function clusterRules(who: 'controller' | 'router'): PolicyRule[] {
  return rulesFor(who === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS, 'cluster');
}

export function installNamespaceRules(who: 'controller' | 'router'): PolicyRule[] {
  return rulesFor(who === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS, 'install');
}

function rbac(who: 'controller' | 'router', ns: string): Obj[] {
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
  ];
}

/** The process containers: non-root, read-only root, no capabilities; like the sandboxes they manage. */
const processSecurity = {
  runAsNonRoot: true,
  runAsUser: 65532,
  runAsGroup: 65532,
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
  o: Required<Pick<InstallOpts, 'image' | 'injectorImage' | 'devAuth'>> & { replicas: number },
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
  const env =
    who === 'controller'
      ? [...downwardEnv, { name: 'AGENTTIER_INJECTOR_IMAGE', value: o.injectorImage }]
      : [...downwardEnv, { name: 'AGENTTIER_DEV_AUTH', value: String(o.devAuth) }];
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: labels },
      template: {
        metadata: { labels },
        spec: {
          serviceAccountName: name,
          securityContext: { runAsNonRoot: true, seccompProfile: { type: 'RuntimeDefault' } },
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
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
            },
          ],
          volumes: [{ name: 'tmp', emptyDir: {} }],
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
    devAuth: opts.devAuth ?? false,
  };
  const out: Obj[] = [];
  if (opts.includeCrds ?? true) out.push(...buildCrds());
  if (opts.includeNamespace ?? true)
    out.push({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns, labels: APP_LABELS } });
  out.push(...rbac('controller', ns), ...rbac('router', ns));
  out.push(deployment('controller', ns, { ...common, replicas: opts.controllerReplicas ?? 1 }));
  out.push(deployment('router', ns, { ...common, replicas: opts.routerReplicas ?? 2 }));
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

export { SANDBOXD_KEY_SECRET_NAME };
