import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { parseAllDocuments } from 'yaml';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import type { ApiCall } from '@agenttier/platform-kubernetes';
import type { PolicyRule } from '@agenttier/platform-kubernetes';
import { CONTROLLER_CALLS, ROUTER_CALLS, allows, rulesFor } from '@agenttier/platform-kubernetes';
import { helmBinary } from '@agenttier/platform-kubernetes/testing';
import type { FakeKubeApiServer, RequestRecord } from '@agenttier/testkit/kube';
import { startController } from './controller/start-controller.ts';
import type { ControllerProcess } from './controller/start-controller.ts';
import { startRouter } from './router/start-router.ts';
import type { RouterProcess } from './router/start-router.ts';
import { startFakeCluster } from './testing/index.ts';
import { eventually } from '@agenttier/testkit';

const quiet = pino({ level: 'silent' });
/** The routers' invoke-record stores (agent mode), removed after the tests. */
const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-router-data-'));
const INSTALL_NS = 'agenttier';
/** The namespaces the scenario's sandboxes live in (Helm `rbac.sandboxNamespaces`). */
const SANDBOX_NAMESPACES = ['default'];

/**
 * Declared calls that the scenario below does not make, each for a reason: they are rare paths,
 * not grants nobody needs. Anything else declared must show up in the recorded traffic.
 */
const RARE: Record<string, string> = {
  'controller get agenttier.io/sandboxes@sandbox': 'reads before the informer cache syncs',
  'controller get agenttier.io/sandboxtemplates@sandbox': 'reads before the informer cache syncs',
  'controller get agenttier.io/clustersandboxtemplates@cluster': 'reads before the informer cache syncs',
  'controller get /pods@sandbox': 'reads before the pod cache syncs',
  'controller update agenttier.io/sandboxes/finalizers@sandbox':
    'an admission check (blockOwnerDeletion), never a request',
  'controller list /persistentvolumeclaims@cluster':
    'orphan listing (also made at start: kept in case the fake batches it)',
  'controller delete /secrets@sandbox': 'an immutable token Secret from before per-start tokens',
  'controller update /serviceaccounts@sandbox':
    "a template's serviceAccount.annotations changed between starts (credential-secrets.test covers it)",
  'router get agenttier.io/sandboxtemplates@sandbox': 'reads before the informer cache syncs',
  'router get agenttier.io/clustersandboxtemplates@cluster': 'reads before the informer cache syncs',
  'router create agenttier.io/sandboxtemplates@sandbox': 'namespaced template REST calls',
  'router update agenttier.io/sandboxtemplates@sandbox': 'namespaced template REST calls',
  'router delete agenttier.io/sandboxtemplates@sandbox': 'namespaced template REST calls',
  'router create authentication.k8s.io/tokenreviews@cluster':
    'ServiceAccount-token logins (AGENTTIER_SA_TOKENS); exercised by token-review.real.int.test.ts',
  'router get agenttier.io/sandboxes@sandbox':
    'activity stamps (exec, files) write status unconditionally: read first',
};

type Scope = ApiCall['scope'];
/** Where a request's grant has to come from: its namespace decides (none: a cluster-wide request). */
function scopeOf(r: RequestRecord): Scope | 'elsewhere' {
  if (!r.namespace) return 'cluster';
  if (r.namespace === INSTALL_NS) return 'install';
  return SANDBOX_NAMESPACES.includes(r.namespace) ? 'sandbox' : 'elsewhere';
}

function callKey(who: string, c: { verb: string; group: string; resource: string }, scope: string): string {
  return `${who} ${c.verb} ${c.group}/${c.resource}@${scope}`;
}

const requestOf = (r: RequestRecord) => ({
  group: r.group ?? '',
  resource: r.subresource ? `${r.resource}/${r.subresource}` : (r.resource ?? ''),
  verb: r.verb!,
  ...(r.name ? { name: r.name } : {}),
});

/** RBAC's answer for one request: the ClusterRole anywhere, a Role only in its own namespace. */
function allowedBy(
  roles: { cluster: PolicyRule[]; install: PolicyRule[]; sandbox: PolicyRule[] },
  r: RequestRecord,
): boolean {
  const req = requestOf(r);
  const scope = scopeOf(r);
  return (
    allows(roles.cluster, req) ||
    (scope === 'install' && allows(roles.install, req)) ||
    (scope === 'sandbox' && allows(roles.sandbox, req))
  );
}

/** The chart's objects, rendered with release name agenttier into the install namespace. */
function helmObjects(...set: string[]) {
  const chart = join(import.meta.dirname, '../../../deploy/helm/agenttier');
  const out = execFileSync(
    helmBinary(),
    ['template', 'agenttier', chart, '--namespace', INSTALL_NS, ...set.flatMap((x) => ['--set', x])],
    { encoding: 'utf8' },
  );
  return parseAllDocuments(out)
    .map(
      (d) =>
        d.toJSON() as {
          kind: string;
          metadata: { name: string; namespace?: string };
          rules?: unknown;
        } | null,
    )
    .filter((o) => o !== null && typeof o === 'object') as Array<{
    kind: string;
    metadata: { name: string; namespace?: string };
    rules?: unknown;
  }>;
}

async function api(router: RouterProcess, method: string, path: string, body?: unknown) {
  const res = await fetch(`${router.url}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, body: (await res.text()) || undefined };
}

describe('least-privilege RBAC: the rules allow every request the processes make, and grant nothing they never use', () => {
  let fake: FakeKubeApiServer;
  let controller: ControllerProcess;
  let router: RouterProcess;
  let records: RequestRecord[] = [];

  beforeAll(async () => {
    fake = await startFakeCluster();
    for (const t of BUILTIN_TEMPLATES) fake.seed(structuredClone(t) as never);
    controller = await startController({
      kubeConfig: fake.kubeConfig,
      namespace: INSTALL_NS,
      identity: 'rbac',
      healthPort: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      retryPeriodMs: 100,
      domainRefreshMs: 200,
      sandboxNamespaces: SANDBOX_NAMESPACES,
      logger: quiet,
    });
    router = await startRouter({
      kubeConfig: fake.kubeConfig,
      namespace: INSTALL_NS,
      host: '127.0.0.1',
      port: 0,
      devAuth: true,
      sandboxNamespaces: SANDBOX_NAMESPACES,
      logger: quiet,
      dataDir,
    });
    await eventually(() => controller.isLeader(), 'leader');

    const running = async (name: string) =>
      (await api(router, 'GET', `/api/v1/sandboxes/${name}`)).body?.includes('"status":"Running"');
    const markRunning = async (name: string) => {
      await eventually(
        () => controller.runtime.core.readNamespacedPod({ namespace: 'default', name: `${name}-pod` }),
        `${name} pod`,
      );
      fake.kubelet.markRunning('default', `${name}-pod`);
      await eventually(() => running(name), `${name} Running`);
    };
    // A full life: template create, create, run, stop, template edit, resume (the network policy is
    // updated), a same-named sandbox over leftovers (GC held back), delete, template delete.
    await api(router, 'POST', '/api/v1/templates', {
      name: 'open',
      kind: 'ClusterSandboxTemplate',
      spec: { network: { allowInternet: true } },
    });
    await api(router, 'POST', '/api/v1/sandboxes', {
      name: 'rb',
      templateRef: { name: 'open', kind: 'ClusterSandboxTemplate' },
    });
    await markRunning('rb');
    await api(router, 'PATCH', '/api/v1/sandboxes/rb', { timeout: '2h' });
    expect((await api(router, 'GET', '/api/v1/sandboxes/rb/events')).status).toBe(200);
    await api(router, 'POST', '/api/v1/sandboxes/rb/stop');
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/rb')).body?.includes('"status":"Stopped"'),
      'Stopped',
    );
    await api(router, 'PUT', '/api/v1/templates/open', {
      kind: 'ClusterSandboxTemplate',
      spec: { network: { allowedDomains: ['192.0.2.7'] } },
    });
    await api(router, 'POST', '/api/v1/sandboxes/rb/resume');
    await markRunning('rb');
    fake.faults.pauseControllers();
    await api(router, 'DELETE', '/api/v1/sandboxes/rb');
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/rb')).status === 404,
      'rb gone',
    );
    await api(router, 'POST', '/api/v1/sandboxes', { name: 'rb', template: 'minimal-shell' });
    // The leftovers are the garbage collector's: the controller waits for it, deleting nothing.
    await eventually(
      async () =>
        (await api(router, 'GET', '/api/v1/sandboxes/rb')).body?.includes(
          'waiting for Kubernetes to collect it',
        ),
      'the twin waiting for the garbage collector',
    );
    fake.faults.resumeControllers();
    await eventually(
      () =>
        controller.runtime.core
          .readNamespacedPod({ namespace: 'default', name: 'rb-pod' })
          .then((p) => p.metadata?.labels?.['agenttier.io/template'] === 'minimal-shell'),
      'the twin pod',
      15_000,
    );
    await api(router, 'DELETE', '/api/v1/sandboxes/rb');
    await eventually(
      async () => (await api(router, 'GET', '/api/v1/sandboxes/rb')).status === 404,
      'rb gone again',
    );
    expect((await api(router, 'DELETE', '/api/v1/templates/open?kind=ClusterSandboxTemplate')).status).toBe(
      204,
    );
    await controller.events.flush();
    records = [...fake.requests];
  }, 60_000);

  afterAll(async () => {
    await router?.close();
    await controller?.close();
    await fake?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const who = (r: RequestRecord) =>
    r.userAgent.startsWith('agenttier-controller')
      ? 'controller'
      : r.userAgent.startsWith('agenttier-router')
        ? 'router'
        : undefined;

  it.each(['controller', 'router'] as const)(
    'every request of the %s is allowed by its ClusterRole, install-namespace Role or sandbox-namespace Role',
    (process) => {
      const calls = process === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS;
      const roles = {
        cluster: rulesFor(calls, 'cluster'),
        install: rulesFor(calls, 'install'),
        sandbox: rulesFor(calls, 'sandbox'),
      };
      const mine = records.filter((r) => who(r) === process && r.verb);
      expect(mine.length).toBeGreaterThan(10);
      const denied = mine.filter((r) => !allowedBy(roles, r));
      expect(denied.map((r) => `${r.verb} ${r.path}`)).toEqual([]);
    },
  );

  it.each(['controller', 'router'] as const)(
    'the RBAC the Helm chart renders for the %s (two sandbox namespaces) allows every request, and nothing outside them',
    (process) => {
      const objects = helmObjects('rbac.sandboxNamespaces={default,team-a}');
      const rulesOf = (kind: string, name: string, namespace?: string) =>
        (objects.find(
          (o) => o.kind === kind && o.metadata.name === name && o.metadata.namespace === namespace,
        )?.rules ?? []) as PolicyRule[];
      const roles = {
        cluster: rulesOf('ClusterRole', `agenttier-${process}`),
        install: rulesOf('Role', `agenttier-${process}`, INSTALL_NS),
        sandbox: rulesOf('Role', `agenttier-${process}-sandboxes`, 'default'),
      };
      expect(rulesOf('Role', `agenttier-${process}-sandboxes`, 'team-a')).toEqual(roles.sandbox);
      const mine = records.filter((r) => who(r) === process && r.verb);
      expect(mine.filter((r) => !allowedBy(roles, r)).map((r) => `${r.verb} ${r.path}`)).toEqual([]);
      // The same requests in a namespace that hosts no sandboxes are all refused (Sandboxes and
      // templates are watched per namespace too, so no ClusterRole grants a namespaced kind).
      const moved = mine
        .filter((r) => scopeOf(r) === 'sandbox')
        .map((r) => ({ ...r, namespace: 'kube-system' }));
      expect(moved.length).toBeGreaterThan(0);
      expect(moved.filter((r) => allowedBy(roles, r)).map((r) => `${r.verb} ${r.resource}`)).toEqual([]);
    },
  );

  it.each(['controller', 'router'] as const)(
    'the %s has no cluster-wide Secret access and no cluster-wide write to a namespaced kind',
    (process) => {
      const calls = process === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS;
      for (const rule of rulesFor(calls, 'cluster')) {
        expect(rule.resources).not.toContain('secrets');
        expect(rule.resources).not.toContain('pods');
        // Cluster-scoped kinds: templates, and TokenReviews (a question to the API server, stored nowhere).
        const clusterScoped = rule.resources.every(
          (r) => r === 'clustersandboxtemplates' || r === 'tokenreviews',
        );
        if (!clusterScoped) expect(rule.verbs.filter((v) => v !== 'list' && v !== 'watch')).toEqual([]);
      }
    },
  );

  it.each(['controller', 'router'] as const)(
    'every call declared for the %s is made (or is a listed rare path)',
    (process) => {
      const calls: ApiCall[] = process === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS;
      const made = new Set(
        records
          .filter((r) => who(r) === process && r.verb)
          .map((r) => callKey(process, requestOf(r), scopeOf(r))),
      );
      const unused = calls.map((c) => callKey(process, c, c.scope)).filter((k) => !made.has(k) && !RARE[k]);
      expect(unused).toEqual([]);
    },
  );

  it('the router reads only sandbox token Secrets, one by name, and never execs into pods', () => {
    const routerReqs = records.filter((r) => who(r) === 'router');
    const secrets = routerReqs.filter((r) => r.resource === 'secrets');
    expect(secrets.length).toBeGreaterThan(0);
    for (const r of secrets) {
      expect(r.verb).toBe('get');
      expect(r.name).toMatch(/-sandboxd-token$/);
      expect(SANDBOX_NAMESPACES).toContain(r.namespace);
    }
    expect(routerReqs.filter((r) => r.subresource === 'exec')).toEqual([]);
  });
});
