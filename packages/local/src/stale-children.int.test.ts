import { afterAll, describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { LABEL_SANDBOX_UID } from '@agenttier/contract';
import { IMAGE_TAG } from '@agenttier/core';
import { createDockerClient } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import type { TestPlatform } from './testing/platform.ts';
import {
  api,
  dockerHost,
  execIn,
  startTestPlatform,
  stopTestPlatform,
  testNamespace,
  waitForPhase,
} from './testing/platform.ts';

/**
 * What an earlier platform leaves in the engine when it dies without cleaning up (a `kill -9` of
 * `agenttier up`, or another install with its own state dir): containers and volumes under the names a
 * new sandbox of the same namespace and name needs. AgentTier's own leftovers are replaced; anything
 * else is never touched and the sandbox says why it waits.
 */

const ns = testNamespace('it-stale');
const docker = createDockerClient(dockerHost);
const foreignName = `agenttier-${ns}-foreign`;
let earlier: TestPlatform | undefined;
let later: TestPlatform | undefined;

afterAll(async () => {
  await docker
    .getContainer(foreignName)
    .remove({ force: true })
    .catch(() => undefined);
  await stopTestPlatform(earlier);
  await stopTestPlatform(later, { namespace: ns });
});

/** Asks platform `p` for a minimal-shell sandbox `name` in `namespace` (the file's by default). */
const create = (p: TestPlatform, name: string, namespace = ns) =>
  api(p.url, 'POST', '/api/v1/sandboxes', { name, namespace, template: 'minimal-shell' });
const sandboxOf = (p: TestPlatform, name: string) => p.store.get<Sandbox>('Sandbox', { namespace: ns, name });

describe('children left by an earlier platform', () => {
  it("an earlier install's running container and its lone volume (a stopped sandbox) are replaced", async () => {
    earlier = await startTestPlatform();
    for (const name of ['running', 'stopped']) {
      const r = await create(earlier, name);
      expect(r.status).toBe(201);
    }
    await waitForPhase(earlier.url, ns, 'running', 'Running');
    await waitForPhase(earlier.url, ns, 'stopped', 'Running');
    await api(earlier.url, 'POST', `/api/v1/sandboxes/stopped/stop?namespace=${ns}`);
    await waitForPhase(earlier.url, ns, 'stopped', 'Stopped');
    const staleUid = (await sandboxOf(earlier, 'running'))!.metadata.uid;
    // The earlier platform dies: its store (another state dir) is gone, its children stay.
    await stopTestPlatform(earlier);
    earlier = undefined;
    expect((await docker.getContainer(`agenttier-${ns}-running`).inspect()).State.Running).toBe(true);

    later = await startTestPlatform();
    for (const name of ['running', 'stopped']) {
      const r = await create(later, name);
      expect(r.status).toBe(201);
    }
    for (const name of ['running', 'stopped']) {
      await waitForPhase(later.url, ns, name, 'Running');
      const uid = (await sandboxOf(later, name))!.metadata.uid;
      const info = await docker.getContainer(`agenttier-${ns}-${name}`).inspect();
      expect(info.Config.Labels?.[LABEL_SANDBOX_UID]).toBe(uid);
      const volume = await docker.getVolume(`agenttier-${ns}-${name}-workspace`).inspect();
      expect(volume.Labels?.[LABEL_SANDBOX_UID]).toBe(uid);
      expect((await execIn(later.url, ns, name, 'echo ok')).stdout).toBe('ok\n');
    }
    expect((await sandboxOf(later, 'running'))!.metadata.uid).not.toBe(staleUid);
  });

  it('a create whose engine name another sandbox already has is refused (namespace x + a-b vs x-a + b)', async () => {
    later ??= await startTestPlatform();
    const first = await create(later, 'a-b');
    expect(first.status).toBe(201);
    const second = await create(later, 'b', `${ns}-a`);
    expect(second.status).toBe(409);
    expect(second.json).toMatchObject({ code: 'ALREADY_EXISTS' });
    expect(second.json.message).toContain(`agenttier-${ns}-a-b`);
    expect((await api(later.url, 'GET', `/api/v1/sandboxes/b?namespace=${ns}-a`)).status).toBe(404);
  });

  it('a container under the name that AgentTier did not make is left alone and the sandbox says why', async () => {
    later ??= await startTestPlatform();
    const image = `agenttier/minimal-shell:${IMAGE_TAG}`;
    const foreign = await docker.createContainer({
      name: foreignName,
      Image: image,
      Cmd: ['sleep', 'infinity'],
      Labels: { 'someone.else/owner': 'me' },
    });
    await foreign.start();
    const r = await create(later, 'foreign');
    expect(r.status).toBe(201);
    await eventually(async () => {
      const sb = await sandboxOf(later!, 'foreign');
      return /not made by AgentTier/.test(sb?.status?.message ?? '');
    }, 'the sandbox to say a foreign container holds its name');
    const sb = await sandboxOf(later, 'foreign');
    expect(sb?.status?.phase).toBe('Creating');
    expect(sb?.status?.message).toContain(`docker rm -f ${foreignName}`);
    const info = await foreign.inspect();
    expect(info.State.Running).toBe(true);
    expect(info.Config.Labels?.[LABEL_SANDBOX_UID]).toBeUndefined();
    // Once the user removes it, the sandbox goes on by itself.
    await foreign.remove({ force: true });
    await waitForPhase(later.url, ns, 'foreign', 'Running');
  });
});
