import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LABEL_NAMESPACE, LABEL_SANDBOX_UID } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import type { RuntimeStep } from '@agenttier/platform-local';
import { eventually } from '@agenttier/testkit';
import { api, dockerHost, waitForPhase } from './testing/platform.ts';
import type { ServerProcess } from './testing/server-process.ts';
import { useServerProcesses } from './testing/server-process.ts';

/**
 * kill -9 at every step of create, stop, resume and delete, on the real engine and the real SQLite
 * file, several sandboxes at once. The server kills itself at an exact runtime step (testing/
 * crash-server.ts), a fresh server starts on the same data dir, and the world must converge: the right
 * phase, the workspace intact, and not one container, volume, run dir or workspace image or mount
 * that no sandbox owns.
 */

const { ns, dataDir, start } = useServerProcesses('it-crashstep');
const docker = createDockerClient(dockerHost);
const STEP_TIMEOUT_MS = 90_000;

/** Starts the server process; with `crashAt` it SIGKILLs itself at that step (`step:n` for the n-th). */
const startServer = (crashAt?: `${RuntimeStep}:${number}`): Promise<ServerProcess> =>
  start({
    entry: new URL('./testing/crash-server.ts', import.meta.url),
    env: { AGENTTIER_CRASH_AT: crashAt ?? '' },
  });

/** Waits for the server to kill itself at its crash step (never by time: the step is what ends it). */
async function crashed(server: ServerProcess): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('the crash step was never reached')), STEP_TIMEOUT_MS);
  });
  try {
    await Promise.race([server.exited, timeout]);
  } finally {
    clearTimeout(timer);
  }
  expect(server.child.signalCode).toBe('SIGKILL');
}

const q = `?namespace=${ns}`;
const create = (base: string, name: string) =>
  api(base, 'POST', '/api/v1/sandboxes', { name, namespace: ns, templateRef: { name: 'minimal-shell' } });
/**
 * File calls need sandboxd. A sandbox can be Running a moment before it answers (on a loaded machine
 * the readiness probe gives up waiting for it and the engine's exec serves), and the router says so
 * with a retryable 503: wait through that, never through anything else.
 */
async function untilSandboxdAnswers(what: string, call: () => Promise<{ status: number; text: string }>) {
  let last = { status: 0, text: '' };
  await eventually(
    async () => {
      last = await call();
      return last.status !== 503;
    },
    what,
    { timeoutMs: 60_000, lastSeen: () => `${last.status} ${last.text}` },
  );
  return last;
}

const writeMark = (base: string, name: string) =>
  untilSandboxdAnswers(`${name}: the mark written`, () =>
    api(base, 'PUT', `/api/v1/sandboxes/${name}/files/workspace/mark.txt${q}`, `written in ${name}\n`),
  );

async function expectMark(base: string, name: string) {
  const r = await untilSandboxdAnswers(`${name}: the mark read`, () =>
    api(base, 'GET', `/api/v1/sandboxes/${name}/files/workspace/mark.txt${q}`),
  );
  expect(r.text, `${name}'s workspace`).toBe(`written in ${name}\n`);
}

async function all(names: string[], fn: (name: string) => Promise<unknown>) {
  await Promise.all(names.map(fn));
}

/**
 * Nothing in the engine (or the run dirs) that no sandbox owns: every container and volume of the
 * namespace carries the uid of a sandbox that exists, and at most one of each per sandbox.
 */
async function expectNoOrphans(base: string) {
  const list = await api(base, 'GET', `/api/v1/sandboxes${q}`);
  const live = new Map<string, string>(
    (list.json.sandboxes as Array<{ uid: string; name: string }>).map((s) => [s.uid, s.name]),
  );
  const filters = { label: [`${LABEL_NAMESPACE}=${ns}`] };
  const containers = await docker.listContainers({ all: true, filters });
  const volumes = (await docker.listVolumes({ filters })).Volumes ?? [];
  for (const c of containers) expect(live.has(c.Labels[LABEL_SANDBOX_UID] ?? ''), c.Names[0]).toBe(true);
  for (const v of volumes) expect(live.has(v.Labels?.[LABEL_SANDBOX_UID] ?? ''), v.Name).toBe(true);
  expect(containers.length).toBeLessThanOrEqual(live.size);
  expect(volumes.length).toBe(live.size);
  const entries = (dir: string) => (existsSync(join(dataDir, dir)) ? readdirSync(join(dataDir, dir)) : []);
  for (const dir of entries('run')) expect(live.has(dir), `run dir ${dir}`).toBe(true);
  // Size-limited workspaces (loop-mounted images, when the platform runs as root): no image, mount
  // point or mount of a sandbox that is gone.
  for (const img of entries('workspaces/images'))
    expect(live.has(img.replace(/\.img$/, '')), `image ${img}`).toBe(true);
  for (const dir of entries('workspaces/mounts')) expect(live.has(dir), `mount point ${dir}`).toBe(true);
  const mountsRoot = join(dataDir, 'workspaces', 'mounts');
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const point = line.split(' ')[4] ?? '';
    if (point.startsWith(`${mountsRoot}/`))
      expect(live.has(point.slice(mountsRoot.length + 1)), `mount ${point}`).toBe(true);
  }
  return { containers, volumes };
}

describe('kill -9 at every runtime step, several sandboxes at once', () => {
  const first = ['a1', 'a2', 'a3'];
  const second = ['b1', 'b2', 'b3'];

  it.each<[string, string[], `${RuntimeStep}:${number}`]>([
    ['between container create and start', first, 'container-created:2'],
    ['right after a volume was created', second, 'volume-created:3'],
  ])('create, crashed %s: every sandbox ends Running, nothing orphaned', async (_what, names, step) => {
    const dying = await startServer(step);
    await all(names, async (n) => expect((await create(dying.base, n)).status).toBe(201));
    await crashed(dying);

    const server = await startServer();
    await all(names, (n) => waitForPhase(server.base, ns, n, 'Running'));
    await all(names, async (n) => expect((await writeMark(server.base, n)).status).toBe(201));
    await all(names, (n) => expectMark(server.base, n));
    await expectNoOrphans(server.base);
    await server.kill9();
  });

  it('create, crashed right after a container started: Running, nothing orphaned', async () => {
    const names = ['c1', 'c2'];
    const dying = await startServer('container-started:1');
    await all(names, (n) => create(dying.base, n));
    await crashed(dying);
    const server = await startServer();
    await all(names, (n) => waitForPhase(server.base, ns, n, 'Running'));
    await all(names, async (n) => expect((await writeMark(server.base, n)).status).toBe(201));
    await expectNoOrphans(server.base);
    await server.kill9();
  });

  it('stop, crashed mid-stop (container stopped, not removed): Stopped with the workspace kept', async () => {
    const dying = await startServer('container-stopped:2');
    await all(first, async (n) =>
      expect((await api(dying.base, 'POST', `/api/v1/sandboxes/${n}/stop${q}`)).status).toBe(200),
    );
    await crashed(dying);

    const server = await startServer();
    await all(first, (n) => waitForPhase(server.base, ns, n, 'Stopped'));
    const { containers } = await expectNoOrphans(server.base);
    const firstUids = new Set(
      await Promise.all(
        first.map(async (n) => (await api(server.base, 'GET', `/api/v1/sandboxes/${n}${q}`)).json.uid),
      ),
    );
    expect(containers.filter((c) => firstUids.has(c.Labels[LABEL_SANDBOX_UID] ?? ''))).toEqual([]);
    await server.kill9();
  });

  it('resume, crashed between container create and start: Running again with the workspace intact', async () => {
    const dying = await startServer('container-created:1');
    await all(first, async (n) =>
      expect((await api(dying.base, 'POST', `/api/v1/sandboxes/${n}/resume${q}`)).status).toBe(200),
    );
    await crashed(dying);

    const server = await startServer();
    await all(first, (n) => waitForPhase(server.base, ns, n, 'Running'));
    await all(first, (n) => expectMark(server.base, n));
    await expectNoOrphans(server.base);
    await server.kill9();
  });

  it.each<[string, string[], `${RuntimeStep}:${number}`]>([
    ['after a container was stopped', ['a1', 'a2'], 'container-stopped:1'],
    ['between container and volume removal', ['a3', 'b1'], 'container-removed:2'],
    ['after a volume was removed (before the finalizer)', ['b2', 'b3', 'c1', 'c2'], 'volume-removed:2'],
  ])('delete, crashed %s: gone, with nothing left behind', async (_what, names, step) => {
    const dying = await startServer(step);
    await all(names, async (n) =>
      expect((await api(dying.base, 'DELETE', `/api/v1/sandboxes/${n}${q}`)).status).toBe(204),
    );
    await crashed(dying);

    const server = await startServer();
    await all(names, (n) => waitForPhase(server.base, ns, n, 'Gone'));
    await expectNoOrphans(server.base);
    // The sandboxes not deleted in this case still have their workspace.
    const left = (await api(server.base, 'GET', `/api/v1/sandboxes${q}`)).json.sandboxes as Array<{
      name: string;
      status: string;
    }>;
    for (const s of left.filter((x) => x.status === 'Running')) await expectMark(server.base, s.name);
    await server.kill9();
  });

  it('leaves the namespace empty at the end: zero containers, volumes and run dirs', async () => {
    const server = await startServer();
    const filters = { label: [`${LABEL_NAMESPACE}=${ns}`] };
    expect((await api(server.base, 'GET', `/api/v1/sandboxes${q}`)).json.sandboxes).toEqual([]);
    expect(await docker.listContainers({ all: true, filters })).toEqual([]);
    expect((await docker.listVolumes({ filters })).Volumes ?? []).toEqual([]);
    await server.kill9();
  });
});
