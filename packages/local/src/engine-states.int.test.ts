import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Sandbox, SandboxTemplate } from '@agenttier/contract';
import { API_VERSION } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { dockerHost } from './testing/platform.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

/**
 * Engine states the controller did not cause, on the real engine: a container paused behind its back,
 * and a container the engine creates but cannot start (which used to leave the sandbox in Creating for
 * good). The planner's table of states is unit-tested in core; this checks the runtime maps them.
 */

const bed = useLocalPlatform('it-states');
const { ns } = bed;
const docker = createDockerClient(dockerHost);

const readyOf = (sb: Sandbox | undefined) => sb?.status?.conditions?.find((c) => c.type === 'Ready')?.status;
const get = (name: string) => bed.platform.store.get<Sandbox>('Sandbox', { namespace: ns, name });

describe('engine states on a real engine', () => {
  it('a container paused behind the controller is unpaused; the sandbox stays Running', async () => {
    await bed.api('POST', '/api/v1/sandboxes', {
      name: 'paused',
      namespace: ns,
      template: 'minimal-shell',
    });
    await bed.waitForPhase('paused', 'Running');
    const container = docker.getContainer(`agenttier-${ns}-paused`);
    await container.pause();
    bed.platform.controller.enqueue(ns, 'paused');
    await eventually(async () => {
      const info = await container.inspect();
      return !info.State.Paused && info.State.Running;
    }, 'the controller to unpause the container');
    await eventually(async () => readyOf(await get('paused')) === 'True', 'Ready=True again');
    const sb = await get('paused');
    expect(sb?.status?.phase).toBe('Running');
    expect(sb?.status?.restartCount ?? 0).toBe(0);
    const r = await bed.api('POST', `/api/v1/sandboxes/paused/exec?namespace=${ns}`, {
      command: 'echo ok',
    });
    expect(r.json.stdout).toBe('ok\n');
  });

  it('a workspace image left without its engine volume (a crash between the two) is removed before the sandbox goes', async (ctx) => {
    await bed.api('POST', '/api/v1/sandboxes', {
      name: 'halfvol',
      namespace: ns,
      template: 'minimal-shell',
    });
    await bed.waitForPhase('halfvol', 'Running');
    const sb = (await get('halfvol'))!;
    const image = join(bed.platform.dataDir, 'workspaces', 'images', `${sb.metadata.uid}.img`);
    if (!existsSync(image)) ctx.skip(); // size-limited workspaces are off here (not root, no loop devices)
    await bed.api('POST', `/api/v1/sandboxes/halfvol/stop?namespace=${ns}`);
    await bed.waitForPhase('halfvol', 'Stopped');
    // What a crash between removing the engine volume and releasing the image leaves behind.
    await docker.getVolume(`agenttier-${ns}-halfvol-workspace`).remove();
    expect((await bed.platform.runtime.observe(sb)).volume).toMatchObject({ incomplete: true });
    await bed.api('DELETE', `/api/v1/sandboxes/halfvol?namespace=${ns}`);
    await bed.waitForPhase('halfvol', 'Gone');
    expect(existsSync(image)).toBe(false);
    expect(existsSync(join(bed.platform.dataDir, 'workspaces', 'mounts', `${sb.metadata.uid}`))).toBe(false);
  });

  it.for<[string, boolean, string]>([
    ['after the unmount (the image still there)', false, 'halfrel'],
    ['after the image was removed (the order before this fix)', true, 'halfrel2'],
  ])(
    'a release cut short %s finishes before the sandbox goes: no mount point is left',
    async ([, removeImageToo, name], ctx) => {
      await bed.api('POST', '/api/v1/sandboxes', { name, namespace: ns, template: 'minimal-shell' });
      await bed.waitForPhase(name, 'Running');
      const sb = (await get(name))!;
      const image = join(bed.platform.dataDir, 'workspaces', 'images', `${sb.metadata.uid}.img`);
      const mountPoint = join(bed.platform.dataDir, 'workspaces', 'mounts', `${sb.metadata.uid}`);
      if (!existsSync(image)) ctx.skip(); // size-limited workspaces are off here (not root, no loop devices)
      await bed.api('POST', `/api/v1/sandboxes/${name}/stop?namespace=${ns}`);
      await bed.waitForPhase(name, 'Stopped');
      // What kill -9 inside release leaves: the engine volume gone and the filesystem unmounted, the
      // mount point and the image still there. The image is removed last, so it still marks the sandbox.
      await docker.getVolume(`agenttier-${ns}-${name}-workspace`).remove();
      execFileSync('umount', [mountPoint]);
      expect(existsSync(mountPoint)).toBe(true);
      // And what an earlier version's order (image first) left: the bare mount point alone.
      if (removeImageToo) rmSync(image);
      expect((await bed.platform.runtime.observe(sb)).volume).toMatchObject({ incomplete: true });
      await bed.api('DELETE', `/api/v1/sandboxes/${name}?namespace=${ns}`);
      await bed.waitForPhase(name, 'Gone');
      expect(existsSync(image)).toBe(false);
      expect(existsSync(mountPoint)).toBe(false);
    },
  );

  it('a container the engine cannot start ends in Error with the engine message, not Creating for good', async () => {
    // Written to the store directly, as a kubectl-applied or pre-validation template would be: the
    // REST API refuses this mount path at the edge.
    const template: SandboxTemplate = {
      apiVersion: API_VERSION,
      kind: 'SandboxTemplate',
      metadata: { name: 'unstartable', namespace: ns },
      spec: { inheritsFrom: { name: 'minimal-shell' }, storage: { mountPath: '/proc' } },
    };
    await bed.platform.store.create(template);
    const created = await bed.api('POST', '/api/v1/sandboxes', {
      name: 'unstartable',
      namespace: ns,
      templateRef: { name: 'unstartable', kind: 'SandboxTemplate' },
    });
    expect(created.status, created.text).toBe(201);
    const failed = await bed.waitForPhase('unstartable', 'Error', 120_000);
    expect(failed.reason).toBe('ReconcileFailed');
    expect(failed.message).toMatch(/gave up after 5 attempts/);
    expect(failed.message).toMatch(/proc/);
  });
});
