import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerClient } from './docker-client.ts';
import { engineHostPaths } from './engine-host-paths.ts';
import { stageSandboxdVolumes } from './sandboxd-volume.ts';

const docker = createDockerClient(process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock');

describe('stageSandboxdVolumes on a real engine', () => {
  const src = mkdtempSync(join(tmpdir(), 'stage-src-'));
  const made = new Set<string>();

  afterAll(async () => {
    for (const v of made)
      await docker
        .getVolume(v)
        .remove()
        .catch(() => undefined);
    rmSync(src, { recursive: true, force: true });
  });

  it('fills each volume once, also when several routers stage the same content at the same time', async () => {
    // Unique content, so the keys (and volumes) are this test's own.
    const marker = randomBytes(8).toString('hex');
    mkdirSync(join(src, 'bundle', 'node_modules', 'x'), { recursive: true });
    writeFileSync(join(src, 'bundle', 'sandboxd.mjs'), `// ${marker}\n`);
    writeFileSync(join(src, 'bundle', 'node_modules', 'x', 'index.js'), 'module.exports = 1;\n');
    writeFileSync(join(src, 'node'), `#!/bin/sh\n# ${marker}\n`, { mode: 0o755 });
    // The engine may see its data root elsewhere (scripts/engine.sh's own-fs layout).
    const hostPathOf = await engineHostPaths(docker);
    const opts = { docker, bundleDir: join(src, 'bundle'), nodeBinary: join(src, 'node'), hostPathOf };

    const results = await Promise.all(Array.from({ length: 4 }, () => stageSandboxdVolumes(opts)));
    for (const r of results) {
      made.add(r.bundleVolume);
      made.add(r.nodeVolume);
      expect(r).toEqual(results[0]);
    }
    const { bundleVolume, nodeVolume } = results[0]!;
    const bundleDir = hostPathOf((await docker.getVolume(bundleVolume).inspect()).Mountpoint);
    const nodeDir = hostPathOf((await docker.getVolume(nodeVolume).inspect()).Mountpoint);
    expect(readFileSync(join(bundleDir, 'sandboxd.mjs'), 'utf8')).toContain(marker);
    expect(readFileSync(join(bundleDir, 'node_modules', 'x', 'index.js'), 'utf8')).toBe(
      'module.exports = 1;\n',
    );
    expect(readFileSync(join(nodeDir, 'bin', 'node'), 'utf8')).toContain(marker);
    expect(statSync(join(nodeDir, 'bin', 'node')).mode & 0o111).not.toBe(0);
    // Staging directories are gone; the ready marker is there.
    for (const dir of [bundleDir, nodeDir]) {
      expect(readdirSync(dir).filter((e) => e.startsWith('.staging-'))).toEqual([]);
      expect(readdirSync(dir)).toContain('ready');
    }

    // Changed content gets a new volume; the same content finds the ready one.
    writeFileSync(join(src, 'bundle', 'sandboxd.mjs'), `// ${marker} v2\n`);
    const next = await stageSandboxdVolumes(opts);
    made.add(next.bundleVolume);
    expect(next.bundleVolume).not.toBe(bundleVolume);
    expect(next.nodeVolume).toBe(nodeVolume);
  });
});
