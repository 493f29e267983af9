/**
 * A template with `runtimeClass: gvisor` on the local platform: startLocalPlatform maps the class to the
 * engine runtime `runsc`, which scripts/engine.sh registers in /etc/agenttier/daemon.json. Skipped, with
 * the reason printed, when the engine has no runsc runtime. See docs/gvisor.md.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
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
import { codeTemplate, probeEngine } from './testing/engine.ts';
import { untilServedBySandboxd } from './testing/local-test-bed.ts';

const features = await probeEngine();
/** A reason to skip the gVisor cases, if any. */
const skip =
  features.unreachable ??
  (features.podman
    ? `${dockerHost} is Podman; runsc is registered through Docker's daemon.json`
    : !features.runsc
      ? `runsc is not registered in the engine at ${dockerHost} (scripts/engine.sh adds it to /etc/agenttier/daemon.json)`
      : undefined);
const engine = { skip, hostUds: features.runscHostUds };
if (engine.skip) console.log(`gvisor.int.test.ts skipped: ${engine.skip}`);
else if (!engine.hostUds) {
  console.log(
    'gvisor.int.test.ts: the sandboxd case is skipped: runsc runs without --host-uds=create, so a ' +
      "sandbox's unix socket is not reachable from the host (docs/gvisor.md)",
  );
}

/** A cluster template like minimal-shell, on gVisor. */
const GVISOR_TEMPLATE = codeTemplate('gvisor-shell', { runtimeClass: 'gvisor' });

describe.skipIf(engine.skip !== undefined)('a gVisor template on the local platform (runsc)', () => {
  const ns = testNamespace('it-gvisor');
  const docker = createDockerClient(dockerHost);
  const platforms: TestPlatform[] = [];
  const start = async (opts: { sandboxd?: boolean }) => {
    const p = await startTestPlatform({ dockerHost, ...opts });
    platforms.push(p);
    expect((await api(p.url, 'POST', '/api/v1/templates', GVISOR_TEMPLATE)).status).toBe(201);
    return p;
  };

  afterAll(async () => {
    for (const p of platforms) await stopTestPlatform(p, { dockerHost, namespace: ns });
  });

  it('runs in the gVisor kernel with the lockdown intact, and survives stop and resume (engine exec)', async () => {
    const { url } = await start({ sandboxd: false });
    const exec = (command: string) => execIn(url, ns, 'gv', command);
    expect(
      (
        await api(url, 'POST', '/api/v1/sandboxes', {
          name: 'gv',
          namespace: ns,
          templateRef: { name: 'gvisor-shell' },
        })
      ).status,
    ).toBe(201);
    await waitForPhase(url, ns, 'gv', 'Running');

    const info = await docker.getContainer(`agenttier-${ns}-gv`).inspect();
    expect(info.HostConfig).toMatchObject({
      Runtime: 'runsc',
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      CapDrop: ['ALL'],
      PidsLimit: 1024,
      Memory: 2 ** 30,
    });
    // gVisor's kernel introduces itself in its own dmesg (the host kernel is not visible).
    expect((await exec('dmesg | head -n 1')).stdout).toMatch(/Starting gVisor/);

    expect(await exec('id -u; echo $((6*7))')).toMatchObject({ stdout: '1000\n42\n', exitCode: 0 });
    // /var/tmp is world-writable in the image: only a read-only root refuses the write.
    expect((await exec('touch /var/tmp/x 2>&1; echo rc=$?')).stdout).toMatch(/Read-only file system\nrc=1/);
    expect((await exec('touch /workspace/ok /tmp/ok && echo ok')).stdout).toBe('ok\n');
    expect((await exec("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")).stdout).toBe('lo\n');
    expect((await exec('tail -n +2 /proc/net/route | wc -l')).stdout.trim()).toBe('0');
    expect((await exec('grep CapEff /proc/self/status')).stdout).toMatch(/CapEff:\s+0000000000000000/);
    // gVisor's /proc/self/status has no NoNewPrivs line; setpriv asks prctl(PR_GET_NO_NEW_PRIVS).
    expect((await exec('setpriv -d 2>/dev/null | grep no_new_privs')).stdout).toMatch(/no_new_privs:\s+1/);

    await exec('echo kept > /workspace/p.txt');
    expect((await api(url, 'POST', `/api/v1/sandboxes/gv/stop?namespace=${ns}`)).json.status).toBe(
      'stopping',
    );
    await waitForPhase(url, ns, 'gv', 'Stopped');
    expect((await api(url, 'POST', `/api/v1/sandboxes/gv/resume?namespace=${ns}`)).json.status).toBe(
      'resuming',
    );
    await waitForPhase(url, ns, 'gv', 'Running');
    expect((await exec('cat /workspace/p.txt')).stdout).toBe('kept\n');

    expect((await api(url, 'DELETE', `/api/v1/sandboxes/gv?namespace=${ns}`)).status).toBe(204);
    await waitForPhase(url, ns, 'gv', 'Gone');
  });

  it.skipIf(!engine.hostUds)(
    'is served by sandboxd through its unix socket (runsc --host-uds=create), not by the engine-exec fallback',
    async () => {
      const { url } = await start({});
      await api(url, 'POST', '/api/v1/sandboxes', {
        name: 'gvd',
        namespace: ns,
        templateRef: { name: 'gvisor-shell' },
      });
      await waitForPhase(url, ns, 'gvd', 'Running', 120_000);
      // Execs carry sandboxd's process marker only when sandboxd serves them: without its socket the
      // router would stay on the engine's exec (and the sandbox would turn Running only when the
      // readiness probe gives up), so this waits for the condition, not for a time.
      await untilServedBySandboxd({ exec: (name, command) => execIn(url, ns, name, command) }, 'gvd');
      expect((await execIn(url, ns, 'gvd', 'dmesg | head -n 1')).stdout).toMatch(/Starting gVisor/);
      expect(await execIn(url, ns, 'gvd', ['sh', '-c', 'cat; id -u'], { stdin: 'in\n' })).toMatchObject({
        stdout: 'in\n1000\n',
        exitCode: 0,
      });
      const put = await api(url, 'PUT', `/api/v1/sandboxes/gvd/files/workspace/f.txt?namespace=${ns}`, 'abc');
      expect(put.status).toBe(201);
      expect(
        (await api(url, 'GET', `/api/v1/sandboxes/gvd/files/workspace/f.txt?namespace=${ns}`)).text,
      ).toBe('abc');
      // Usage under gVisor: its Sentry shows no cgroup files (runsc 2022-12), so CPU, memory and pids
      // are null with the reason; the workspace is measured as everywhere.
      const usage = await api(url, 'GET', `/api/v1/sandboxes/gvd/usage?namespace=${ns}`);
      expect(usage.status, usage.text).toBe(200);
      for (const section of ['cpu', 'memory', 'pids'])
        expect(
          usage.json[section] !== null || /no cgroup files/.test(usage.json.unavailable[section]),
          section,
        ).toBe(true);
      expect(usage.json.storage.path).toBe('/workspace');
      expect((await api(url, 'DELETE', `/api/v1/sandboxes/gvd?namespace=${ns}`)).status).toBe(204);
      await waitForPhase(url, ns, 'gvd', 'Gone');
    },
  );
});

describe.skipIf(engine.skip?.startsWith('no engine') ?? false)(
  'a runtime class the engine cannot honour',
  () => {
    const ns = testNamespace('it-rtclass');
    let platform: TestPlatform | undefined;
    afterAll(async () => {
      await stopTestPlatform(platform, { dockerHost, namespace: ns });
    });

    it('puts the sandbox in Error with the reason instead of retrying or running it without that runtime', async () => {
      platform = await startTestPlatform({ dockerHost, sandboxd: false });
      const { url } = platform;
      const spec = { ...GVISOR_TEMPLATE.spec, runtimeClass: 'no-such-runtime' };
      expect((await api(url, 'POST', '/api/v1/templates', { name: 'nowhere', spec })).status).toBe(201);
      await api(url, 'POST', '/api/v1/sandboxes', {
        name: 'x',
        namespace: ns,
        templateRef: { name: 'nowhere' },
      });
      const failed = await waitForPhase(url, ns, 'x', 'Error');
      expect(failed.message).toMatch(/engine runtime "no-such-runtime"/);
      const left = await createDockerClient(dockerHost).listContainers({
        all: true,
        filters: { name: [`agenttier-${ns}-x`] },
      });
      expect(left).toEqual([]);
    });
  },
);
