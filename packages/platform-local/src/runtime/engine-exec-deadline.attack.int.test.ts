/**
 * The engine-exec fallback (sandboxes where sandboxd cannot run, or whose sandboxd does not answer: the
 * sandbox's code can SIGSTOP its own sandboxd, same uid) bounds its command with coreutils `timeout`,
 * which is a process of the sandbox's. Found by the red team: `kill -STOP 0` in such an exec stopped
 * `timeout` with it, and the router waited for the stream's end for good, holding the request and one
 * of the caller's concurrency slots. (A `setsid` child holding the output open does not do it: the
 * engine ends an exec's stream when its main process exits.) Real engine,
 * a real container, the attacks as the sandbox user.
 */
import { randomBytes } from 'node:crypto';
import type { Sandbox } from '@agenttier/contract';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDockerClient } from './docker-client.ts';
import { EngineDataPlane, ENGINE_EXEC_GRACE_MS } from './engine-data-plane.ts';

const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';
const docker = createDockerClient(dockerHost);
const namespace = `ed-${randomBytes(3).toString('hex')}`;
const sandbox = { metadata: { name: 'stuck', namespace } } as Sandbox;

beforeAll(async () => {
  const c = await docker.createContainer({
    name: `agenttier-${namespace}-stuck`,
    Image: 'agenttier/minimal-shell:dev',
    Entrypoint: ['sleep', 'infinity'],
    User: '1000:1000',
    Labels: { [LABEL_NAMESPACE]: namespace },
    HostConfig: { NetworkMode: 'none', PidsLimit: 64 },
  });
  await c.start();
}, 60_000);

afterAll(async () => {
  const filters = { label: [`${LABEL_NAMESPACE}=${namespace}`] };
  for (const c of await docker.listContainers({ all: true, filters }))
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true })
      .catch(() => undefined);
});

describe('engine exec past its timeout', () => {
  const plane = new EngineDataPlane(docker);
  const attacks: [string, string[]][] = [
    // Stops its own process group: the `timeout` wrapper too, so nothing ever kills the command.
    ['stops its timeout wrapper', ['sh', '-c', 'echo started; kill -STOP 0; echo never']],
    // Stops only the wrapper (the exec's main process), and runs on.
    ['stops the wrapper and runs on', ['sh', '-c', 'echo started; kill -STOP $PPID; sleep 600; echo never']],
  ];
  for (const [what, argv] of attacks) {
    it(
      `answers timedOut when the command ${what}`,
      async () => {
        const r = await plane.exec(sandbox, { argv, timeoutMs: 1000, maxOutputBytes: 1 << 20 });
        expect(r.stdout).toContain('started');
        expect(r.stdout).not.toContain('never');
        expect(r.timedOut).toBe(true);
        expect(r.exitCode).toBe(-1);
      },
      // Without the router's deadline the call never returns and this fails.
      30_000 + ENGINE_EXEC_GRACE_MS,
    );
  }

  it('still answers a command that ends in time', async () => {
    const r = await plane.exec(sandbox, {
      argv: ['sh', '-c', 'echo ok'],
      timeoutMs: 5000,
      maxOutputBytes: 1024,
    });
    expect(r).toMatchObject({ stdout: 'ok\n', exitCode: 0, timedOut: false });
  });
});
