/**
 * A sandbox reads its mount information to learn the host's layout (docs/security.md, "Mount
 * information: the engine's own filesystem and namespace"). Under runc the kernel renders it from the
 * engine's own mount calls: overlayfs options name the layer directories as the engine passed them,
 * and a bind mount's root (field 4) is its path inside the source filesystem. With the engine's data
 * root on the host's disk that named /var/lib/agenttier/docker/… (containers, volumes, layers). With
 * scripts/engine.sh's own-fs layout the engine sees its data root at /engine in a mount namespace of
 * its own, on a filesystem of its own: no path in mountinfo exists on the host.
 *
 * The attacker is the sandbox user, through the platform's exec (as code in the sandbox would read it).
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Sandbox } from '@agenttier/contract';
import { createDockerClient, engineHostDataRoot, engineHostPaths } from '@agenttier/platform-local';
import { dockerHost } from './testing/platform.ts';
import { probeEngine } from './testing/engine.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const docker = createDockerClient(dockerHost);
const info = (await docker.info()) as { DockerRootDir: string };
const hostDataRoot = (await engineHostDataRoot(docker))?.hostRoot;
// Podman refuses file credentials (its compatible API makes no tmpfs volume for them).
const { podman } = await probeEngine(dockerHost);
if (!hostDataRoot)
  console.log(
    `mountinfo-host-paths.attack.int.test.ts: skipped: the engine at ${dockerHost} keeps its data root at ` +
      `${info.DockerRootDir} on the host's filesystem (not the own-fs layout of scripts/engine.sh or ` +
      'scripts/podman.sh), so under runc its paths show in mountinfo; `bash scripts/engine.sh migrate` moves ' +
      "dockerd's (docs/development.md)",
  );

/** mountinfo escapes blanks, tabs, newlines and backslashes as octal. */
const unescape = (s: string): string =>
  s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * The absolute paths a mountinfo text names: each mount's root inside its filesystem (field 4), its
 * source unless a device node (`/dev/loop3` names a device, not where data lives), and every
 * path-valued filesystem option (overlayfs's lowerdir, upperdir and workdir among them).
 */
function pathsNamed(mountinfo: string): string[] {
  const out = new Set<string>();
  for (const line of mountinfo.split('\n').filter((l) => l.trim())) {
    const [before, after] = line.split(' - ');
    const root = before?.split(' ')[3];
    if (root) out.add(unescape(root));
    const [, source, superOptions] = (after ?? '').split(' ');
    if (source?.startsWith('/') && !source.startsWith('/dev/')) out.add(unescape(source));
    for (const opt of (superOptions ?? '').split(',')) {
      const value = opt.slice(opt.indexOf('=') + 1);
      for (const p of value.split(':')) if (p.startsWith('/')) out.add(unescape(p));
    }
  }
  return [...out];
}

describe.skipIf(!hostDataRoot)('mount information under runc names no host path', () => {
  const bed = useLocalPlatform('it-mountinfo');

  it('neither /proc/self/mountinfo nor /proc/1/mountinfo names a path that exists on the host', async () => {
    // storage.size: a loop workspace (mounted on the host under the data dir); sandboxd: its run
    // volume and the bundle's volumes; a file credential (a tmpfs volume; not on Podman); the
    // engine's overlay root and /etc/{hosts,hostname,resolv.conf}.
    const secret = await bed.api('PUT', `/api/v1/secrets/peek-secret?${bed.q}`, { stringData: { K: 'v' } });
    expect(secret.status, secret.text).toBe(201);
    await bed.createRunning('peek', {
      templateRef: { name: 'minimal-shell' },
      storage: { size: '64Mi' },
      ...(podman
        ? {}
        : { credentials: [{ secretName: 'peek-secret', mountAs: 'file', mountPath: '/credentials/peek' }] }),
    });
    const sb = (await bed.platform.store.get<Sandbox>('Sandbox', { namespace: bed.ns, name: 'peek' }))!;
    const container = await docker.getContainer(`agenttier-${bed.ns}-peek`).inspect();
    const hostPathOf = await engineHostPaths(docker);

    const self = (await bed.exec('peek', 'cat /proc/self/mountinfo')).stdout as string;
    const init = await bed.exec('peek', 'cat /proc/1/mountinfo');
    // PID 1 is the sandbox user's too (agenttier-launch dropped to it), so its view is readable.
    expect(init.exitCode, init.stderr).toBe(0);
    const mountinfo = `${self}\n${init.stdout as string}`;
    expect(mountinfo).toMatch(/ \/workspace .* ext4 \/dev\/loop\d+ /);
    expect(mountinfo).toContain(' /run/agenttier ');
    expect(mountinfo).toContain(' /opt/agenttier/sandboxd ');
    if (!podman) expect(mountinfo).toContain(' /credentials/peek ');

    // 1. Nothing it names exists on the host, except what the sandbox sees at the same path itself
    //    (the root of a filesystem, /sys as procfs's own path, …).
    const named = pathsNamed(mountinfo);
    expect(named.some((p) => /\/overlay2?\//.test(p))).toBe(true); // the root's layers (Docker, Podman)
    const onHost = named.filter((p) => existsSync(p));
    const seenInside = (
      await bed.exec('peek', [
        'sh',
        '-c',
        'for p in "$@"; do [ -e "$p" ] && echo "$p"; done; true',
        'sh',
        ...onHost,
      ])
    ).stdout as string;
    const inside = new Set(seenInside.split('\n').filter(Boolean));
    expect(onHost.filter((p) => !inside.has(p))).toEqual([]);

    // 2. Nor does it contain the host places an attacker would look for.
    const runVolume = container.Mounts.find((m) => m.Destination === '/run/agenttier')?.Source ?? '';
    const hostPlaces = [
      bed.platform.dataDir,
      sb.metadata.uid!,
      hostDataRoot!,
      '/var/lib/agenttier',
      hostPathOf(runVolume),
    ];
    for (const p of hostPlaces) expect(mountinfo, p).not.toContain(p);
  });
});
