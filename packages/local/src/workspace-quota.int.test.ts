/**
 * storage.size on the local platform: a real sandbox writing past its size gets ENOSPC, the host spends
 * no more than the size on it, the workspace survives stop/resume, and delete — or the startup sweep
 * after a crash — leaves no image, mount or loop device behind.
 */
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { LoopWorkspaces } from '@agenttier/platform-local';
import type { Sandbox } from '@agenttier/contract';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-quota', {
  // Not a skip: CI runs as root with util-linux and e2fsprogs, and this is the defence under test.
  setup: async () => expect(await LoopWorkspaces.unavailableReason()).toBeUndefined(),
});
const { ns } = bed;
const SIZE = 64 * 2 ** 20;

function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((l) => l.split(' ')[4] === path);
}

function loopDevicesOf(image: string): string {
  try {
    return execFileSync('losetup', ['-j', image, '-n', '-O', 'NAME'], { encoding: 'utf8' }).trim();
  } catch {
    return ''; // no such file: nothing can be attached to it
  }
}

describe('storage.size on the local platform', () => {
  it('stops a sandbox at its size with ENOSPC, keeps the workspace across stop/resume, and cleans up on delete', async () => {
    const created = await bed.api('POST', '/api/v1/sandboxes', {
      name: 'small',
      namespace: ns,
      templateRef: { name: 'minimal-shell' },
      storage: { size: '64Mi' },
    });
    expect(created.status, created.text).toBe(201);
    await bed.waitForPhase('small', 'Running');
    const sb = (await bed.platform.store.get<Sandbox>('Sandbox', { namespace: ns, name: 'small' }))!;
    const uid = sb.metadata.uid!;
    const ws = new LoopWorkspaces(join(bed.platform.dataDir, 'workspaces'));

    const df = await bed.exec('small', ['df', '-k', '/workspace']);
    const totalKiB = Number(df.stdout.trim().split('\n')[1].split(/\s+/)[1]);
    expect(totalKiB * 1024).toBeLessThanOrEqual(SIZE);
    expect(totalKiB * 1024).toBeGreaterThan(SIZE / 2);

    // The sandbox sees a loop device, not where the image or its mount point live on the host.
    const mountinfo = (await bed.exec('small', 'grep " /workspace " /proc/self/mountinfo')).stdout;
    expect(mountinfo).toMatch(/ext4 \/dev\/loop\d+ /);
    expect(mountinfo).not.toContain(bed.platform.dataDir);
    // The only other writable place is /tmp, a tmpfs of its own size, not the host's disk. The directory
    // of sandboxd's socket (a plain engine volume) is root's: the sandbox cannot write there at all.
    for (const [dir, error] of [
      ['/tmp', /No space left on device/],
      ['/run/agenttier', /Permission denied/],
    ] as const) {
      const other = await bed.exec(
        'small',
        `(head -c 300000000 /dev/zero > ${dir}/fill) 2>&1; echo rc=$?; rm -f ${dir}/fill 2>/dev/null`,
        {
          timeout: 120,
        },
      );
      expect(other.stdout, dir).toMatch(error);
      expect(other.stdout, dir).toMatch(/\nrc=[1-9]\n$/);
    }
    await bed.exec('small', 'echo kept > /workspace/note.txt');
    const fill = await bed.exec('small', 'head -c 200000000 /dev/zero > /workspace/big; echo rc=$?', {
      timeout: 120,
    });
    expect(fill.stderr).toMatch(/No space left on device/);
    expect(fill.stdout).toBe('rc=1\n');
    // The host spent at most the workspace's size on it, not the 200 MB the sandbox tried to write.
    expect(statSync(ws.imagePath(uid)).blocks * 512).toBeLessThanOrEqual(SIZE);

    expect((await bed.api('POST', `/api/v1/sandboxes/small/stop?namespace=${ns}`)).status).toBe(200);
    await bed.waitForPhase('small', 'Stopped');
    expect((await bed.api('POST', `/api/v1/sandboxes/small/resume?namespace=${ns}`)).status).toBe(200);
    await bed.waitForPhase('small', 'Running');
    expect((await bed.exec('small', 'cat /workspace/note.txt')).stdout).toBe('kept\n');
    const again = await bed.exec('small', 'head -c 200000000 /dev/zero >> /workspace/big; echo rc=$?', {
      timeout: 120,
    });
    expect(again.stdout).toBe('rc=1\n');
    // The files API reports a full workspace as busy (retryable once space is freed), not a 500.
    const put = await bed.api(
      'PUT',
      `/api/v1/sandboxes/small/files/workspace/more.bin?namespace=${ns}`,
      'x'.repeat(1 << 20),
    );
    expect(put.status, put.text).toBe(503);
    expect(put.json.code).toBe('SANDBOX_BUSY');

    expect((await bed.api('DELETE', `/api/v1/sandboxes/small?namespace=${ns}`)).status).toBe(204);
    await bed.waitForPhase('small', 'Gone');
    expect(mounted(ws.mountPath(uid))).toBe(false);
    expect(() => statSync(ws.imagePath(uid))).toThrow();
    expect(await ws.list()).not.toContain(uid);
  });

  it('refuses a size no filesystem can have, or larger than the disk, at the edge', async () => {
    for (const size of ['1Mi', '64Ti']) {
      const r = await bed.api('POST', '/api/v1/sandboxes', {
        name: `bad-${size.toLowerCase()}`,
        namespace: ns,
        templateRef: { name: 'minimal-shell' },
        storage: { size },
      });
      expect(r.status, r.text).toBe(422);
      expect(r.json.details).toEqual([expect.objectContaining({ field: 'storage.size', rule: 'capacity' })]);
    }
  });

  it('releases a workspace whose data dir is reached through a symlink: unmounted, nothing left', async () => {
    const real = mkdtempSync(join(tmpdir(), 'agenttier-ws-real-'));
    const link = `${real}-link`;
    symlinkSync(real, link);
    try {
      // The mount table names resolved paths; compared with the symlinked one, a mounted workspace
      // looked unmounted, so release skipped the unmount and the delete stayed stuck.
      const ws = new LoopWorkspaces(join(link, 'workspaces'));
      const uid = 'deadbeef-0000-4000-8000-000000000002';
      const mnt = await ws.ensure(uid, SIZE);
      expect(mounted(mnt)).toBe(true);
      expect(await ws.ensureMounted(uid)).toBe(mnt); // not mounted a second time
      expect(readFileSync('/proc/self/mountinfo', 'utf8').split(` ${mnt} `).length).toBe(2);
      await ws.release(uid);
      expect(mounted(mnt)).toBe(false);
      expect(existsSync(mnt)).toBe(false);
      expect(await ws.list()).toEqual([]);
    } finally {
      for (const l of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
        const point = l.split(' ')[4] ?? '';
        if (point.startsWith(`${real}/`)) execFileSync('umount', ['-l', point]);
      }
      rmSync(link, { force: true });
      rmSync(real, { recursive: true, force: true });
    }
  });

  it('moves aside, never walks, a bare mount point that holds stray files', async () => {
    const ws = new LoopWorkspaces(mkdtempSync(join(tmpdir(), 'agenttier-ws-stray-')));
    const uid = 'deadbeef-0000-4000-8000-000000000003';
    try {
      mkdirSync(join(ws.mountPath(uid), 'sub'), { recursive: true });
      writeFileSync(join(ws.mountPath(uid), 'sub', 'stray'), 'x');
      await ws.release(uid);
      expect(existsSync(ws.mountPath(uid))).toBe(false);
      const aside = readdirSync(ws.leftoversDir);
      expect(aside).toHaveLength(1);
      expect(readFileSync(join(ws.leftoversDir, aside[0]!, 'sub', 'stray'), 'utf8')).toBe('x');
    } finally {
      rmSync(ws.root, { recursive: true, force: true });
    }
  });

  it('sweeps a workspace image left by a crash when the platform starts again', async () => {
    const ws = new LoopWorkspaces(join(bed.platform.dataDir, 'workspaces'));
    const leftover = 'deadbeef-0000-4000-8000-000000000001';
    const image = ws.imagePath(leftover);
    await bed.restart(async () => {
      // What a crash between making the image and creating the engine volume leaves behind.
      await ws.ensure(leftover, SIZE);
      expect(mounted(ws.mountPath(leftover))).toBe(true);
    });
    await eventually(
      async () => !(await ws.list()).includes(leftover),
      'the leftover image to be swept',
      30_000,
    );
    expect(mounted(ws.mountPath(leftover))).toBe(false);
    expect(loopDevicesOf(image)).toBe('');
  });
});
