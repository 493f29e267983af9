import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import type { TestPlatform } from './testing/platform.ts';
import {
  api,
  dockerHost,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

/**
 * Engine states the controller did not cause, on the real engine: a container paused behind its back,
 * and a container the engine creates but cannot start (which used to leave the sandbox in Creating for
 * good). The planner's table of states is unit-tested in core; this checks the runtime maps them.
 */

const ns = testNamespace('it-states');
const docker = createDockerClient(dockerHost);
let platform: TestPlatform;
let base: string;

const readyOf = (sb: Sandbox | undefined) => sb?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const get = (name: string) => platform.store.get<Sandbox>('Sandbox', { namespace: ns, name });

beforeAll(async () => {
  platform = await startTestPlatform();
  base = platform.url;
});

afterAll(async () => {
  await stopTestPlatform(platform, { namespace: ns });
});

describe('engine states on a real engine', () => {
  it('a container paused behind the controller is unpaused; the sandbox stays Running', async () => {
    await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'paused',
      namespace: ns,
      template: 'minimal-shell',
    });
    await waitForPhase(base, ns, 'paused', 'Running');
    const container = docker.getContainer(`agenttier-${ns}-paused`);
    await container.pause();
    platform.controller.enqueue(ns, 'paused');
    await eventually(async () => {
      const info = await container.inspect();
      return !info.State.Paused && info.State.Running;
    }, 'the controller to unpause the container');
    await eventually(async () => readyOf(await get('paused')) === 'True', 'Ready=True again');
    const sb = await get('paused');
    expect(sb?.status?.phase).toBe('Running');
    expect(sb?.status?.restartCount ?? 0).toBe(0);
    const r = await api(base, 'POST', `/api/v1/sandboxes/paused/exec?namespace=${ns}`, {
      command: 'echo ok',
    });
    expect(r.json.stdout).toBe('ok\n');
  });

  it('a workspace image left without its engine volume (a crash between the two) is removed before the sandbox goes', async (ctx) => {
    await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'halfvol',
      namespace: ns,
      template: 'minimal-shell',
    });
    await waitForPhase(base, ns, 'halfvol', 'Running');
    const sb = (await get('halfvol'))!;
    const image = join(platform.dataDir, 'workspaces', 'images', `${sb.metadata.uid}.img`);
    if (!existsSync(image)) ctx.skip(); // size-limited workspaces are off here (not root, no loop devices)
    await api(base, 'POST', `/api/v1/sandboxes/halfvol/stop?namespace=${ns}`);
    await waitForPhase(base, ns, 'halfvol', 'Stopped');
    // What a crash between removing the engine volume and releasing the image leaves behind.
    await docker.getVolume(`agenttier-${ns}-halfvol-workspace`).remove();
    expect((await platform.runtime.observe(sb)).volume).toMatchObject({ incomplete: true });
    await api(base, 'DELETE', `/api/v1/sandboxes/halfvol?namespace=${ns}`);
    await waitForPhase(base, ns, 'halfvol', 'Gone');
    expect(existsSync(image)).toBe(false);
  });

  it('a container the engine cannot start ends in Error with the engine message, not Creating for good', async () => {
    // Written to the store directly, as a kubectl-applied or pre-validation template would be: the
    // REST API refuses this mount path at the edge.
    const template: SandboxTemplate = {
      apiVersion: API_VERSION,
      kind: 'SandboxTemplate',
      metadata: { name: 'unstartable', namespace: ns },
      spec: { inheritsFrom: { name: 'minimal-shell' }, storage: { mountPath: '/proc' } },
    };
    await platform.store.create(template);
    const created = await api(base, 'POST', '/api/v1/sandboxes', {
      name: 'unstartable',
      namespace: ns,
      templateRef: { name: 'unstartable', kind: 'SandboxTemplate' },
    });
    expect(created.status, created.text).toBe(201);
    const failed = await waitForPhase(base, ns, 'unstartable', 'Error', 120_000);
    expect(failed.reason).toBe('ReconcileFailed');
    expect(failed.message).toMatch(/gave up after 5 attempts/);
    expect(failed.message).toMatch(/proc/);
  });
});
