// The operator as an install runs it, on the real cluster KUBECONFIG names, for one e2e file: a
// namespace of its own with an `e2e-shell` SandboxTemplate, the controller and the router in-process,
// and pods run by the cluster's kubelet (or the API-driven stand-in). useRealRouterStack() starts it in
// beforeAll and takes it all down in afterAll, whatever the tests left behind.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi } from '@kubernetes/client-node';
import { pino } from 'pino';
import { eventually } from '@agenttier/testkit';
import { afterAll, beforeAll } from 'vitest';
import type { ControllerProcess, ControllerProcessOpts } from '../controller/start-controller.ts';
import { startController } from '../controller/start-controller.ts';
import type { RouterProcess, RouterProcessOpts } from '../router/start-router.ts';
import { startRouter } from '../router/start-router.ts';
import type { OperatorCluster } from './operator-cluster.ts';
import { realOperatorCluster } from './operator-cluster.ts';

export interface RealRouterStackOpts {
  /** The namespace is `agenttier-<prefix>-<random>`; the data dir and controller identity use it too. */
  prefix: string;
  /** Labels of the namespace (Pod Security admission levels, say). */
  namespaceLabels?: Record<string, string>;
  /** The e2e-shell template's CPU limit. */
  templateCpu: string;
  /** Controller options over the defaults (loopback, ports 0, the cluster's injector image). */
  controller?: (ns: string) => ControllerProcessOpts;
  /** Router options over the defaults (loopback, port 0, dev auth, the file's data dir). */
  router?: (ns: string) => RouterProcessOpts;
  /** Runs once the router is up, inside the same beforeAll (a sandbox the file's tests share). */
  setup?: (stack: RealRouterStack) => Promise<void>;
  /** In afterAll, wait until the namespace's pods are gone before the controller stops. */
  awaitPodsGone?: boolean;
}

export interface RealRouterStack {
  readonly ns: string;
  /** The cluster, controller and router (from beforeAll on). */
  readonly cluster: OperatorCluster;
  readonly controller: ControllerProcess;
  readonly router: RouterProcess;
}

export function useRealRouterStack(opts: RealRouterStackOpts): RealRouterStack {
  const ns = `agenttier-${opts.prefix}-${randomBytes(3).toString('hex')}`;
  const dataDir = mkdtempSync(join(tmpdir(), `agenttier-${opts.prefix}-real-`));
  const quiet = pino({ level: process.env.AGENTTIER_E2E_LOG_LEVEL ?? 'silent' });
  let cluster: OperatorCluster | undefined;
  let controller: ControllerProcess | undefined;
  let router: RouterProcess | undefined;
  let stopPods: (() => void) | undefined;
  const started = <T>(what: string, v: T | undefined): T => {
    if (v === undefined)
      throw new Error(`the ${opts.prefix} stack's ${what} is used before beforeAll started it`);
    return v;
  };
  const stack: RealRouterStack = {
    ns,
    get cluster() {
      return started('cluster', cluster);
    },
    get controller() {
      return started('controller', controller);
    },
    get router() {
      return started('router', router);
    },
  };

  beforeAll(async () => {
    cluster = await realOperatorCluster();
    const kc = cluster.kubeConfig;
    await kc.makeApiClient(CoreV1Api).createNamespace({
      body: { metadata: { name: ns, ...(opts.namespaceLabels ? { labels: opts.namespaceLabels } : {}) } },
    });
    await kc.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      group: 'agenttier.io',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'sandboxtemplates',
      body: {
        apiVersion: 'agenttier.io/v1alpha1',
        kind: 'SandboxTemplate',
        metadata: { name: 'e2e-shell' },
        spec: {
          image: { repository: cluster.image, pullPolicy: cluster.pullPolicy },
          resources: { limits: { cpu: opts.templateCpu, memory: '256Mi' } },
          storage: { size: '1Gi', mountPath: '/workspace' },
        },
      },
    });
    controller = await startController({
      kubeConfig: kc,
      namespace: ns,
      healthPort: 0,
      metricsPort: 0,
      host: '127.0.0.1',
      injectorImage: cluster.injectorImage,
      logger: quiet,
      ...opts.controller?.(ns),
    });
    stopPods = cluster.runPods(ns);
    router = await startRouter({
      kubeConfig: kc,
      namespace: ns,
      host: '127.0.0.1',
      port: 0,
      devAuth: true,
      logger: quiet,
      dataDir,
      ...opts.router?.(ns),
    });
    await opts.setup?.(stack);
  }, 300_000);

  afterAll(async () => {
    const kc = cluster?.kubeConfig;
    const core = kc?.makeApiClient(CoreV1Api);
    if (kc && core && cluster) {
      // With the controller still running, so that it releases the finalizer.
      await kc
        .makeApiClient(CustomObjectsApi)
        .deleteCollectionNamespacedCustomObject({
          group: 'agenttier.io',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'sandboxes',
        })
        .catch(() => undefined);
      if (opts.awaitPodsGone)
        await eventually(
          async () => (await core.listNamespacedPod({ namespace: ns })).items.length === 0,
          'the sandbox pods to be gone',
          cluster.waitMs,
        ).catch(() => undefined);
    }
    await router?.close();
    await controller?.close();
    stopPods?.();
    await core?.deleteNamespace({ name: ns }).catch(() => undefined);
    await cluster?.close();
    rmSync(dataDir, { recursive: true, force: true });
  }, 300_000);

  return stack;
}
