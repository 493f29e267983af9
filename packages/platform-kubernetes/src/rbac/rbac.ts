import { API_GROUP } from '@agenttier/contract';

export type ApiVerb = 'get' | 'list' | 'watch' | 'create' | 'update' | 'patch' | 'delete';

/** One kind of request a process makes: what RBAC has to allow, and nothing else. */
export interface ApiCall {
  group: string;
  /** Plural, with `/subresource` when there is one. */
  resource: string;
  verb: ApiVerb;
  /**
   * Where the grant lives:
   * - `cluster`: a ClusterRole. Only the cluster-scoped template kind; never Pods, Secrets or
   *   Sandboxes, never a write to a namespaced kind;
   * - `sandbox`: a Role in each namespace that hosts sandboxes (Helm `rbac.sandboxNamespaces`);
   * - `install`: a Role in the install namespace only.
   */
  scope: 'cluster' | 'sandbox' | 'install';
  /** For install-scoped gets of one named object. */
  resourceNames?: string[];
  /** Where in the code, for the reader of a Role. */
  why: string;
}

export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: ApiVerb[];
  resourceNames?: string[];
}

export const LEASE_NAME = 'agenttier-controller-leader';

const AT = API_GROUP;
const call = (
  group: string,
  resource: string,
  verbs: ApiVerb[],
  scope: ApiCall['scope'],
  why: string,
  resourceNames?: string[],
): ApiCall[] =>
  verbs.map((verb) => ({ group, resource, verb, scope, why, ...(resourceNames ? { resourceNames } : {}) }));

/** Every request `agenttier controller` makes (the RBAC test holds the code to this list). */
export const CONTROLLER_CALLS: ApiCall[] = [
  // Sandboxes and SandboxTemplates are listed and watched per sandbox namespace too.
  ...call(AT, 'sandboxes', ['list', 'watch'], 'sandbox', 'KubernetesStore informer, per namespace'),
  ...call(AT, 'sandboxes', ['get'], 'sandbox', 'KubernetesStore reads before its cache syncs'),
  ...call(
    AT,
    'sandboxes',
    ['update'],
    'sandbox',
    'finalizer add/remove, desiredState on idle/max-runtime stop',
  ),
  ...call(AT, 'sandboxes/status', ['update'], 'sandbox', 'status written by the reconciler'),
  // Setting blockOwnerDeletion on children's owner references needs this (OwnerReferencesPermissionEnforcement).
  ...call(AT, 'sandboxes/finalizers', ['update'], 'sandbox', 'owner references with blockOwnerDeletion'),
  ...call(AT, 'sandboxtemplates', ['list', 'watch'], 'sandbox', 'template informer, per namespace'),
  ...call(AT, 'sandboxtemplates', ['get'], 'sandbox', 'template resolution before the cache syncs'),
  ...call(AT, 'clustersandboxtemplates', ['get', 'list', 'watch'], 'cluster', 'template resolution'),
  // Pods, claims and policies are listed and watched per sandbox namespace (AGENTTIER_SANDBOX_NAMESPACES).
  ...call('', 'pods', ['list', 'watch'], 'sandbox', 'pod informer (observe, restart on change)'),
  ...call(
    '',
    'pods',
    ['get', 'create', 'delete'],
    'sandbox',
    'KubernetesRuntime ensureWorkload/removeWorkload',
  ),
  ...call('', 'persistentvolumeclaims', ['list'], 'sandbox', 'orphan listing'),
  ...call('', 'persistentvolumeclaims', ['get', 'create', 'delete'], 'sandbox', 'workspace claims'),
  ...call(
    '',
    'serviceaccounts',
    ['get', 'create', 'update'],
    'sandbox',
    "per-sandbox identity (update: the template's annotations; an earlier same-named sandbox's is left to the garbage collector)",
  ),
  ...call(
    '',
    'secrets',
    ['get', 'create', 'update', 'delete'],
    'sandbox',
    'per-sandbox sandboxd token, a new one per pod start (delete: an immutable one from before per-start tokens)',
  ),
  ...call(
    'networking.k8s.io',
    'networkpolicies',
    ['get', 'create', 'update'],
    'sandbox',
    'per-sandbox network policy',
  ),
  ...call(
    'networking.k8s.io',
    'networkpolicies',
    ['list'],
    'sandbox',
    'DomainRefresher re-resolves allowed domains',
  ),
  ...call('', 'events', ['create'], 'sandbox', 'an Event per phase change'),
  ...call('coordination.k8s.io', 'leases', ['get', 'create', 'update'], 'install', 'leader election'),
];

/** Every request `agenttier router` makes. It reads one sandbox's token Secret at a time, by name. */
export const ROUTER_CALLS: ApiCall[] = [
  // Sandboxes and SandboxTemplates are listed and watched per sandbox namespace too.
  ...call(AT, 'sandboxes', ['list', 'watch'], 'sandbox', 'KubernetesStore informer, per namespace'),
  ...call(
    AT,
    'sandboxes',
    ['get', 'create', 'update', 'delete'],
    'sandbox',
    'REST API on the KubernetesStore',
  ),
  ...call(AT, 'sandboxes/status', ['update'], 'sandbox', 'initial status, stop/resume, activity'),
  ...call(AT, 'sandboxtemplates', ['list', 'watch'], 'sandbox', 'template informer, per namespace'),
  ...call(AT, 'sandboxtemplates', ['get', 'create', 'update', 'delete'], 'sandbox', 'template REST API'),
  ...call(
    AT,
    'clustersandboxtemplates',
    ['get', 'list', 'watch', 'create', 'update', 'delete'],
    'cluster',
    'template REST API (a cluster-scoped kind)',
  ),
  ...call('', 'pods', ['list', 'watch'], 'sandbox', 'pod IPs of sandboxes (sandboxd)'),
  // get only: no list or watch, so the router cannot enumerate Secrets, only fetch a named one.
  ...call('', 'secrets', ['get'], 'sandbox', "a sandbox's sandboxd token when its pod appears"),
  ...call('', 'events', ['create'], 'sandbox', 'audited calls on a sandbox mirrored as Events on it'),
  ...call('', 'events', ['list'], 'sandbox', "a sandbox's events feed (GET …/events)"),
  // Persists nothing: the API server says whether a ServiceAccount token is valid for the router's
  // audience (in-cluster agents logging in; docs/auth.md). The same grant as system:auth-delegator's.
  ...call(
    'authentication.k8s.io',
    'tokenreviews',
    ['create'],
    'cluster',
    'ServiceAccount tokens (TokenReview)',
  ),
];

/** Groups calls into the fewest rules that allow exactly them. */
export function rulesFor(calls: ApiCall[], scope: ApiCall['scope']): PolicyRule[] {
  const byResource = new Map<
    string,
    { group: string; resource: string; verbs: Set<ApiVerb>; names?: string[] }
  >();
  for (const c of calls.filter((x) => x.scope === scope)) {
    const key = `${c.group}|${c.resource}|${c.resourceNames?.join(',') ?? ''}`;
    const entry = byResource.get(key) ?? {
      group: c.group,
      resource: c.resource,
      verbs: new Set<ApiVerb>(),
      ...(c.resourceNames ? { names: c.resourceNames } : {}),
    };
    entry.verbs.add(c.verb);
    byResource.set(key, entry);
  }
  const order: ApiVerb[] = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];
  const rules = new Map<string, PolicyRule>();
  for (const e of byResource.values()) {
    const verbs = order.filter((v) => e.verbs.has(v));
    const key = `${e.group}|${verbs.join(',')}|${e.names?.join(',') ?? ''}`;
    const rule = rules.get(key) ?? {
      apiGroups: [e.group],
      resources: [],
      verbs,
      ...(e.names ? { resourceNames: e.names } : {}),
    };
    rule.resources.push(e.resource);
    rules.set(key, rule);
  }
  return [...rules.values()];
}

/** Whether `rules` allow one request (the API server's RBAC check, without wildcards: we use none). */
export function allows(
  rules: PolicyRule[],
  req: { group: string; resource: string; verb: string; name?: string },
): boolean {
  return rules.some(
    (r) =>
      r.apiGroups.includes(req.group) &&
      r.resources.includes(req.resource) &&
      (r.verbs as string[]).includes(req.verb) &&
      (!r.resourceNames || (req.name !== undefined && r.resourceNames.includes(req.name))),
  );
}
