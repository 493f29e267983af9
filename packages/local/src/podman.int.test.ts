/**
 * The local platform on Podman's Docker-compatible API (DESIGN: "containers on a Docker-API engine
 * (Docker, or Podman's compatible socket)"). Runs when AGENTTIER_PODMAN_HOST names a Podman service
 * (`bash scripts/podman.sh` starts one at unix:///run/agenttier/podman.sock); skipped otherwise.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { instanceIdOf } from './local-platform.ts';
import { createDockerClient } from '@agenttier/platform-local';
import { LABEL_INSTANCE } from '@agenttier/platform-local';
import { api, execIn, startTestPlatform, stopTestPlatform, waitForPhase } from './testing/platform.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const podmanHost = process.env.AGENTTIER_PODMAN_HOST;
if (!podmanHost) {
  console.log(
    'podman.int.test.ts skipped: AGENTTIER_PODMAN_HOST is not set ' +
      '(bash scripts/podman.sh, then AGENTTIER_PODMAN_HOST=unix:///run/agenttier/podman.sock)',
  );
}

describe.skipIf(!podmanHost)("local platform on Podman's Docker-compatible API", () => {
  const host = podmanHost ?? 'unix:///run/agenttier/podman.sock'; // the describe body runs even when skipped
  const docker = createDockerClient(host);
  // Before the platform's own beforeAll (hooks run in the order they are added).
  beforeAll(async () => {
    const version = await docker.version();
    if (!version.Components?.some((c) => /podman/i.test(c.Name))) {
      throw new Error(`AGENTTIER_PODMAN_HOST=${host} answers but is not Podman: ${JSON.stringify(version)}`);
    }
  });
  const bed = useLocalPlatform('it-podman', { dockerHost: host });
  const { ns, exec } = bed;
  const create = async (name: string, template = 'minimal-shell') => {
    const r = await bed.api('POST', '/api/v1/sandboxes', {
      name,
      namespace: ns,
      templateRef: { name: template },
    });
    expect(r.status).toBe(201);
  };
  const engineObjects = async () => {
    const filters = { label: [`${LABEL_NAMESPACE}=${ns}`] };
    const containers = await docker.listContainers({ all: true, filters });
    const volumes = ((await docker.listVolumes({ filters })).Volumes ?? []).filter(
      (v) => v.Labels?.[LABEL_NAMESPACE] === ns,
    );
    return { containers: containers.map((c) => c.Names[0]), volumes: volumes.map((v) => v.Name) };
  };

  it('walks through create → exec → files → stop → resume → delete with the workspace intact', async () => {
    await create('life');
    await bed.waitForPhase('life', 'Running');
    expect(await exec('life', 'echo $((6*7)); id -u')).toMatchObject({ stdout: '42\n1000\n', exitCode: 0 });
    expect(await exec('life', 'echo oops >&2; exit 3')).toMatchObject({ stderr: 'oops\n', exitCode: 3 });
    // Resource use is the container's own cgroup under Podman too.
    const usage = await bed.api('GET', `/api/v1/sandboxes/life/usage?namespace=${ns}`);
    expect(usage.status, usage.text).toBe(200);
    expect(usage.json.memory.bytes).toBeGreaterThan(0);
    expect(usage.json.pids.current).toBeGreaterThan(0);
    const put = await bed.api(
      'PUT',
      `/api/v1/sandboxes/life/files/workspace/notes.txt?namespace=${ns}`,
      'keep me\n',
    );
    expect(put).toMatchObject({ status: 201, json: { bytes: 8 } });

    expect((await bed.api('POST', `/api/v1/sandboxes/life/stop?namespace=${ns}`)).json.status).toBe(
      'stopping',
    );
    await bed.waitForPhase('life', 'Stopped');
    expect(await engineObjects()).toEqual({ containers: [], volumes: [`agenttier-${ns}-life-workspace`] });

    expect((await bed.api('POST', `/api/v1/sandboxes/life/resume?namespace=${ns}`)).json.status).toBe(
      'resuming',
    );
    await bed.waitForPhase('life', 'Running');
    const read = await bed.api('GET', `/api/v1/sandboxes/life/files/workspace/notes.txt?namespace=${ns}`);
    expect(read).toMatchObject({ status: 200, text: 'keep me\n' });
    expect((await exec('life', 'cat /workspace/notes.txt')).stdout).toBe('keep me\n');

    expect((await bed.api('DELETE', `/api/v1/sandboxes/life?namespace=${ns}`)).status).toBe(204);
    await bed.waitForPhase('life', 'Gone');
    expect(await engineObjects()).toEqual({ containers: [], volumes: [] });
  });

  it('keeps the lockdown: uid 1000, read-only root, no capabilities, no network, limits, catatonit as init', async () => {
    await create('locked');
    await bed.waitForPhase('locked', 'Running');
    expect((await exec('locked', 'id -u')).stdout).toBe('1000\n');
    expect((await exec('locked', 'touch /etc/x /usr/x /x 2>&1; echo done')).stdout).toMatch(
      /Read-only file system[\s\S]*done/,
    );
    expect((await exec('locked', 'touch /workspace/ok /tmp/ok && echo ok')).stdout).toBe('ok\n');
    const ifaces = (await exec('locked', "tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '")).stdout;
    expect(ifaces.trim().split('\n')).toEqual(['lo']);
    expect((await exec('locked', 'tail -n +2 /proc/net/route | wc -l')).stdout.trim()).toBe('0');
    const status = (await exec('locked', 'grep -E "^(CapEff|CapBnd|NoNewPrivs|Seccomp):" /proc/self/status'))
      .stdout;
    expect(status).toMatch(/CapEff:\s+0000000000000000/);
    expect(status).toMatch(/CapBnd:\s+0000000000000000/);
    expect(status).toMatch(/NoNewPrivs:\s+1/);
    expect(status).toMatch(/Seccomp:\s+2/);
    // Podman's --init is catatonit, mounted as /run/podman-init.
    expect((await exec('locked', 'tr "\\0" " " </proc/1/cmdline')).stdout).toMatch(/^\/run\/podman-init /);
    const info = await docker.getContainer(`agenttier-${ns}-locked`).inspect();
    // Podman reports CapDrop as the list of dropped capabilities rather than ['ALL']: CapEff above is the proof.
    expect(info.HostConfig).toMatchObject({
      ReadonlyRootfs: true,
      NetworkMode: 'none',
      Init: true,
      PidsLimit: 512,
    });
    expect(info.HostConfig.Memory).toBe(2 ** 30);
    expect(info.HostConfig.NanoCpus).toBe(1e9);
    expect(info.HostConfig.SecurityOpt).toContain('no-new-privileges');
  });

  it('serves exec and files through the engine when a platform runs without sandboxd', async () => {
    const plain = await startTestPlatform({ dockerHost: host, sandboxd: false });
    try {
      const b = plain.url;
      await api(b, 'POST', '/api/v1/sandboxes', {
        name: 'plain',
        namespace: ns,
        templateRef: { name: 'minimal-shell' },
      });
      await waitForPhase(b, ns, 'plain', 'Running');
      expect(await execIn(b, ns, 'plain', ['cat'], { stdin: 'piped' })).toMatchObject({
        stdout: 'piped',
        exitCode: 0,
      });
      expect(await execIn(b, ns, 'plain', 'exit 7')).toMatchObject({ exitCode: 7 });
      expect(await execIn(b, ns, 'plain', 'sleep 5', { timeout: 1 })).toMatchObject({ timedOut: true });
      const put = await api(
        b,
        'PUT',
        `/api/v1/sandboxes/plain/files/workspace/sub/f.txt?namespace=${ns}`,
        'abc',
      );
      expect(put.status).toBe(201);
      const list = await api(b, 'GET', `/api/v1/sandboxes/plain/files/?namespace=${ns}&path=/workspace/sub`);
      expect(list.json.entries.map((e: { name: string }) => e.name)).toEqual(['f.txt']);
      const read = await api(b, 'GET', `/api/v1/sandboxes/plain/files/workspace/sub/f.txt?namespace=${ns}`);
      expect(read).toMatchObject({ status: 200, text: 'abc' });
      expect((await api(b, 'DELETE', `/api/v1/sandboxes/plain?namespace=${ns}`)).status).toBe(204);
      await waitForPhase(b, ns, 'plain', 'Gone');
    } finally {
      await stopTestPlatform(plain);
    }
  });

  it('refuses a gVisor template instead of silently running it without gVisor (Podman ignores HostConfig.Runtime)', async () => {
    const template = await bed.api('POST', '/api/v1/templates', {
      name: 'gvisor-on-podman',
      spec: {
        mode: 'code',
        image: { repository: 'agenttier/minimal-shell:dev', pullPolicy: 'Never' },
        storage: { size: '1Gi', mountPath: '/workspace' },
        runtimeClass: 'gvisor',
      },
    });
    expect(template.status).toBe(201);
    await create('gv', 'gvisor-on-podman');
    const failed = await bed.waitForPhase('gv', 'Error');
    expect(failed.message).toMatch(/engine runtime "runsc".*ignored it/);
    expect((await engineObjects()).containers).not.toContain(`/agenttier-${ns}-gv`);
    expect((await bed.api('DELETE', `/api/v1/sandboxes/gv?namespace=${ns}`)).status).toBe(204);
    await bed.waitForPhase('gv', 'Gone');
  });

  it("collects its own orphans and never another install's (Podman ORs label filters on volumes)", async () => {
    const { platform } = bed;
    const instance = instanceIdOf(platform.dataDir);
    const labels = (inst: string) => ({
      'agenttier.io/managed': 'true',
      [LABEL_INSTANCE]: inst,
      [LABEL_NAMESPACE]: ns,
      'agenttier.io/sandbox-uid': 'no-such-uid',
    });
    await docker.createVolume({ Name: `agenttier-${ns}-mine-workspace`, Labels: labels(instance) });
    await docker.createVolume({
      Name: `agenttier-${ns}-theirs-workspace`,
      Labels: labels('another-install'),
    });
    await platform.controller.collectOrphans();
    const left = (await engineObjects()).volumes;
    expect(left).toContain(`agenttier-${ns}-theirs-workspace`);
    expect(left).not.toContain(`agenttier-${ns}-mine-workspace`);
  });
});
