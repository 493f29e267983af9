import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { pino } from 'pino';
import type { SandboxTemplate } from '@agenttier/contract';
import { BUILTIN_TEMPLATES } from '@agenttier/core';
import { CRD_KINDS, crdFileName } from '@agenttier/platform-kubernetes';
import type { FakeKubeApiServer } from '@agenttier/testkit/kube';
import { startFakeKubeApiServer } from '@agenttier/testkit/kube';
import type { ControllerProcess, ControllerProcessOpts } from '../controller/start-controller.ts';
import { startController } from '../controller/start-controller.ts';
import type { RouterProcess, RouterProcessOpts } from '../router/start-router.ts';
import { startRouter } from '../router/start-router.ts';

const repoRoot = join(import.meta.dirname, '../../../..');
const quiet = pino({ level: 'silent' });

/** A fake API server with the committed CRDs installed and the install namespace. */
export async function startFakeCluster(): Promise<FakeKubeApiServer> {
  const fake = await startFakeKubeApiServer({ namespaces: ['agenttier', 'other'] });
  fake.seed(
    CRD_KINDS.map((k) => parse(readFileSync(join(repoRoot, 'deploy/crds', crdFileName(k)), 'utf8'))) as never,
  );
  fake.faults.runControllersNow();
  return fake;
}

/**
 * `agenttier controller` on the fake: the install namespace, no leader election (one replica), health
 * and metrics on ephemeral loopback ports, no log output. `opts` overrides any of these.
 */
export function startTestController(
  fake: FakeKubeApiServer,
  opts: ControllerProcessOpts = {},
): Promise<ControllerProcess> {
  return startController({
    kubeConfig: fake.kubeConfig,
    namespace: 'agenttier',
    identity: 'c',
    leaderElection: false,
    healthPort: 0,
    metricsPort: 0,
    host: '127.0.0.1',
    logger: quiet,
    ...opts,
  });
}

/**
 * `agenttier router` on the fake: the install namespace, an ephemeral loopback port, no log output.
 * The caller picks the authentication (`devAuth` or `adminKey`) and the data directory.
 */
export function startTestRouter(
  fake: FakeKubeApiServer,
  opts: RouterProcessOpts & { dataDir: string },
): Promise<RouterProcess> {
  return startRouter({
    kubeConfig: fake.kubeConfig,
    namespace: 'agenttier',
    host: '127.0.0.1',
    port: 0,
    logger: quiet,
    ...opts,
  });
}

/** A fake cluster with a controller on it and the built-in templates stored: where router tests start. */
export async function startClusterWithController(
  opts: ControllerProcessOpts = {},
): Promise<{ fake: FakeKubeApiServer; controller: ControllerProcess }> {
  const fake = await startFakeCluster();
  const controller = await startTestController(fake, opts);
  for (const t of BUILTIN_TEMPLATES) await controller.store.create<SandboxTemplate>(structuredClone(t));
  return { fake, controller };
}
