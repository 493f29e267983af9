/**
 * A template with `runtimeClass: gvisor` on the local platform: startLocalPlatform maps the class to the
 * engine runtime `runsc`, which scripts/engine.sh registers in /etc/agenttier/daemon.json. Skipped, with
 * the reason printed, when the engine has no runsc runtime. See docs/gvisor.md.
 */
import { describe, expect, it } from 'vitest';
import { createDockerClient } from '@agenttier/platform-local';
import { dockerHost } from './testing/platform.ts';
import { codeTemplate, probeEngine } from './testing/engine.ts';
import type { LocalTestBed } from './testing/local-test-bed.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

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

/** Registers the gVisor template on a platform that just started. */
const withGvisorTemplate = async (bed: LocalTestBed) => {
  expect((await bed.api('POST', '/api/v1/templates', GVISOR_TEMPLATE)).status).toBe(201);
};

describe.skipIf(engine.skip !== undefined)('a gVisor template on the local platform (runsc)', () => {
  const docker = createDockerClient(dockerHost);

  describe('without sandboxd', () => {
    const bed = useLocalPlatform('it-gvisor', { dockerHost, sandboxd: false, setup: withGvisorTemplate });

    it('runs in the gVisor kernel with the lockdown intact, and survives stop and resume (engine exec)', async () => {
      const { ns, q } = bed;
      const exec = (command: string) => bed.exec('gv', command);
      expect(
        (
          await bed.api('POST', '/api/v1/sandboxes', {
            name: 'gv',
            namespace: ns,
            templateRef: { name: 'gvisor-shell' },
          })
        ).status,
      ).toBe(201);
      await bed.waitForPhase('gv', 'Running');

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
      expect((await bed.api('POST', `/api/v1/sandboxes/gv/stop?${q}`)).json.status).toBe('stopping');
      await bed.waitForPhase('gv', 'Stopped');
      expect((await bed.api('POST', `/api/v1/sandboxes/gv/resume?${q}`)).json.status).toBe('resuming');
      await bed.waitForPhase('gv', 'Running');
      expect((await exec('cat /workspace/p.txt')).stdout).toBe('kept\n');

      expect((await bed.api('DELETE', `/api/v1/sandboxes/gv?${q}`)).status).toBe(204);
      await bed.waitForPhase('gv', 'Gone');
    });
  });

  describe.skipIf(!engine.hostUds)('with sandboxd', () => {
    const bed = useLocalPlatform('it-gvisor-sd', { dockerHost, setup: withGvisorTemplate });

    it('is served by sandboxd through its unix socket (runsc --host-uds=create), not by the engine-exec fallback', async () => {
      const { q } = bed;
      // Execs carry sandboxd's process marker only when sandboxd serves them: without its socket the
      // router would stay on the engine's exec (and the sandbox would turn Running only when the
      // readiness probe gives up), so createRunning waits for the condition, not for a time.
      await bed.createRunning('gvd', 'gvisor-shell');
      expect((await bed.exec('gvd', 'dmesg | head -n 1')).stdout).toMatch(/Starting gVisor/);
      expect(await bed.exec('gvd', ['sh', '-c', 'cat; id -u'], { stdin: 'in\n' })).toMatchObject({
        stdout: 'in\n1000\n',
        exitCode: 0,
      });
      const put = await bed.api('PUT', `/api/v1/sandboxes/gvd/files/workspace/f.txt?${q}`, 'abc');
      expect(put.status).toBe(201);
      expect((await bed.api('GET', `/api/v1/sandboxes/gvd/files/workspace/f.txt?${q}`)).text).toBe('abc');
      // Usage under gVisor: its Sentry shows no cgroup files (runsc 2022-12), so CPU, memory and pids
      // are null with the reason; the workspace is measured as everywhere.
      const usage = await bed.api('GET', `/api/v1/sandboxes/gvd/usage?${q}`);
      expect(usage.status, usage.text).toBe(200);
      for (const section of ['cpu', 'memory', 'pids'])
        expect(
          usage.json[section] !== null || /no cgroup files/.test(usage.json.unavailable[section]),
          section,
        ).toBe(true);
      expect(usage.json.storage.path).toBe('/workspace');
      expect((await bed.api('DELETE', `/api/v1/sandboxes/gvd?${q}`)).status).toBe(204);
      await bed.waitForPhase('gvd', 'Gone');
    });
  });
});

describe.skipIf(engine.skip?.startsWith('no engine') ?? false)(
  'a runtime class the engine cannot honour',
  () => {
    const bed = useLocalPlatform('it-rtclass', { dockerHost, sandboxd: false });

    it('puts the sandbox in Error with the reason instead of retrying or running it without that runtime', async () => {
      const { ns } = bed;
      const spec = { ...GVISOR_TEMPLATE.spec, runtimeClass: 'no-such-runtime' };
      expect((await bed.api('POST', '/api/v1/templates', { name: 'nowhere', spec })).status).toBe(201);
      await bed.api('POST', '/api/v1/sandboxes', {
        name: 'x',
        namespace: ns,
        templateRef: { name: 'nowhere' },
      });
      const failed = await bed.waitForPhase('x', 'Error');
      expect(failed.message).toMatch(/engine runtime "no-such-runtime"/);
      const left = await createDockerClient(dockerHost).listContainers({
        all: true,
        filters: { name: [`agenttier-${ns}-x`] },
      });
      expect(left).toEqual([]);
    });
  },
);
