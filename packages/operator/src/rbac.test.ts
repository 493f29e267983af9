import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import type { ApiCall } from '@agenttier/platform-kubernetes';
import { CONTROLLER_CALLS, ROUTER_CALLS, allows, rulesFor } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer, RequestRecord } from '@agenttier/testkit/kube';
import { startController } from './controller/start-controller.ts';
import type { ControllerProcess } from './controller/start-controller.ts';
import { startRouter } from './router/start-router.ts';
import type { RouterProcess } from './router/start-router.ts';
import { eventually, startFakeCluster } from './testing.ts';

const quiet = pino({ level: 'silent' });
/** The routers' invoke-record stores (agent mode), removed after the tests. */
const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-router-data-'));
const INSTALL_NS = 'agenttier';

/**
 * Declared calls that the scenario below does not make, each for a reason: they are rare paths,
 * not grants nobody needs. Anything else declared must show up in the recorded traffic.
 */
const RARE: Record<string, string> = {
  'controller get agenttier.io/sandboxes': 'reads before the informer cache syncs',
  'controller get agenttier.io/sandboxtemplates': 'reads before the informer cache syncs',
  'controller get agenttier.io/clustersandboxtemplates': 'reads before the informer cache syncs',
  'controller get /pods': 'reads before the pod cache syncs',
  'controller update agenttier.io/sandboxes/finalizers':
    'an admission check (blockOwnerDeletion), never a request',
  'controller list /persistentvolumeclaims':
    'orphan listing (also made at start: kept in case the fake batches it)',
  'controller create /secrets@install': 'first start of a fresh install only when the key is missing',
  'router get agenttier.io/sandboxtemplates': 'reads before the informer cache syncs',
  'router get agenttier.io/clustersandboxtemplates': 'reads before the informer cache syncs',
  'router create agenttier.io/sandboxtemplates': 'namespaced template REST calls',
  'router update agenttier.io/sandboxtemplates': 'namespaced template REST calls',
  'router delete agenttier.io/sandboxtemplates': 'namespaced template REST calls',
  'router get agenttier.io/sandboxes':
    'activity stamps (exec, files) write status unconditionally: read first',
};

function callKey(
  who: string,
  c: { verb: string; group: string; resource: string },
  install: boolean,
): string {
  return `${who} ${c.verb} ${c.group}/${c.resource}${install ? '@install' : ''}`;
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
      logger: quiet,
    });
    router = await startRouter({
      kubeConfig: fake.kubeConfig,
      namespace: INSTALL_NS,
      host: '127.0.0.1',
      port: 0,
      devAuth: true,
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
    await eventually(
      () =>
        controller.runtime.core
          .readNamespacedPod({ namespace: 'default', name: 'rb-pod' })
          .then((p) => p.metadata?.labels?.['agenttier.io/template'] === 'minimal-shell'),
      'the twin pod',
      15_000,
    );
    fake.faults.resumeControllers();
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
    'every request of the %s is allowed by its ClusterRole or install-namespace Role',
    (process) => {
      const calls = process === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS;
      const cluster = rulesFor(calls, 'cluster');
      const install = rulesFor(calls, 'install');
      const mine = records.filter((r) => who(r) === process && r.verb);
      expect(mine.length).toBeGreaterThan(10);
      const denied = mine.filter((r) => {
        const req = {
          group: r.group ?? '',
          resource: r.subresource ? `${r.resource}/${r.subresource}` : (r.resource ?? ''),
          verb: r.verb!,
          ...(r.name ? { name: r.name } : {}),
        };
        return !allows(cluster, req) && !(r.namespace === INSTALL_NS && allows(install, req));
      });
      expect(denied.map((r) => `${r.verb} ${r.path}`)).toEqual([]);
    },
  );

  it.each(['controller', 'router'] as const)(
    'every call declared for the %s is made (or is a listed rare path)',
    (process) => {
      const calls: ApiCall[] = process === 'controller' ? CONTROLLER_CALLS : ROUTER_CALLS;
      const made = new Set(
        records
          .filter((r) => who(r) === process && r.verb)
          .flatMap((r) => {
            const c = {
              verb: r.verb!,
              group: r.group ?? '',
              resource: r.subresource ? `${r.resource}/${r.subresource}` : (r.resource ?? ''),
            };
            return [
              callKey(process, c, false),
              ...(r.namespace === INSTALL_NS ? [callKey(process, c, true)] : []),
            ];
          }),
      );
      const unused = calls
        .map((c) => callKey(process, c, c.scope === 'install'))
        .filter((k) => !made.has(k) && !RARE[k]);
      expect(unused).toEqual([]);
    },
  );

  it('the router never reads a sandbox Secret and never execs into pods', () => {
    const routerReqs = records.filter((r) => who(r) === 'router');
    expect(routerReqs.filter((r) => r.resource === 'secrets' && r.namespace !== INSTALL_NS)).toEqual([]);
    expect(routerReqs.filter((r) => r.subresource === 'exec')).toEqual([]);
  });
});
