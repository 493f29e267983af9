import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, realpathSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, rmdir, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PlatformError } from '@agenttier/contract';
import { SANDBOX_UID } from './container-spec.ts';

const run = promisify(execFile);

/** Smallest workspace we make: ext4's own metadata and journal need room. */
export const MIN_WORKSPACE_BYTES = 32 * 2 ** 20;

const UID_RE = /^[A-Za-z0-9][A-Za-z0-9-]{0,127}$/;

/** Mount points currently mounted, from this process's mount table (octal escapes decoded). */
function mountPoints(): Set<string> {
  const out = new Set<string>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const field = line.split(' ')[4];
    if (field) out.add(field.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8))));
  }
  return out;
}

/** `path` with its existing part resolved (symlinks followed); the part not made yet is kept as given. */
function resolvedPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(resolvedPath(parent), basename(path));
  }
}

async function sh(cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 120_000, maxBuffer: 1 << 20 });
    return stdout;
  } catch (err) {
    const e = err as Error & { stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`, { cause: err });
  }
}

/**
 * Size-limited workspaces on the local platform: each sandbox's workspace is an ext4 filesystem in a
 * sparse image file (`<root>/images/<sandbox uid>.img`), loop-mounted at `<root>/mounts/<sandbox uid>`
 * and handed to the engine as a bind volume. A write past `storage.size` gets ENOSPC inside the
 * sandbox; the host filesystem holds at most the image's size for it. Every path here is under
 * `root`, which only this process writes: the sandbox sees the inside of the filesystem, never the
 * directories the mount point and image live in.
 */
export class LoopWorkspaces {
  readonly imagesDir: string;
  readonly mountsDir: string;
  /** Bare mount points that held stray files, moved aside on release (see release). */
  readonly leftoversDir: string;

  readonly root: string;

  constructor(root: string) {
    // The mount table names resolved paths: through a symlink in the data dir's path, a mounted
    // workspace would look unmounted (mounted twice, never unmounted on delete).
    this.root = resolvedPath(root);
    this.imagesDir = join(this.root, 'images');
    this.mountsDir = join(this.root, 'mounts');
    this.leftoversDir = join(this.root, 'leftovers');
  }

  /** Why this host cannot make loop-mounted workspaces, or undefined when it can. */
  static async unavailableReason(): Promise<string | undefined> {
    if (process.platform !== 'linux') return 'loop mounts need Linux';
    if (process.getuid?.() !== 0) return 'mounting a workspace image needs root (run `agenttier up` as root)';
    for (const tool of ['mount', 'umount', 'losetup', 'mkfs.ext4']) {
      try {
        await run('sh', ['-c', `command -v ${tool}`]);
      } catch {
        return `${tool} is missing (apt-get install ${tool === 'mkfs.ext4' ? 'e2fsprogs' : 'util-linux mount'})`;
      }
    }
    return undefined;
  }

  private check(uid: string): void {
    if (!UID_RE.test(uid))
      throw new PlatformError('INTERNAL', `unexpected sandbox uid ${JSON.stringify(uid)}`);
  }

  imagePath(uid: string): string {
    this.check(uid);
    return join(this.imagesDir, `${uid}.img`);
  }

  mountPath(uid: string): string {
    this.check(uid);
    return join(this.mountsDir, uid);
  }

  async hasImage(uid: string): Promise<boolean> {
    return stat(this.imagePath(uid)).then(
      () => true,
      () => false,
    );
  }

  /**
   * Whether anything of `uid` is here: its image or its mount point. A release cut short by an
   * earlier version (which removed the image first) can leave the bare mount point alone.
   */
  async holdsAnything(uid: string): Promise<boolean> {
    if (await this.hasImage(uid)) return true;
    return stat(this.mountPath(uid)).then(
      () => true,
      () => false,
    );
  }

  /** Makes the image (once) and mounts it; returns the mount point. Idempotent, safe after a crash. */
  async ensure(uid: string, sizeBytes: number): Promise<string> {
    if (!(sizeBytes >= MIN_WORKSPACE_BYTES)) {
      throw new PlatformError(
        'UNPROCESSABLE',
        `storage.size must be at least ${MIN_WORKSPACE_BYTES / 2 ** 20}Mi on the local platform (the workspace is a filesystem of that size)`,
      );
    }
    const image = this.imagePath(uid);
    let fresh = false;
    if (!(await this.hasImage(uid))) {
      await mkdir(this.imagesDir, { recursive: true, mode: 0o700 });
      // Built under a temporary name and renamed: a crash never leaves a half-made image behind the
      // real name (the temporary one is collected with the sandbox's other leftovers).
      const tmp = `${image}.tmp-${randomBytes(4).toString('hex')}`;
      const fh = await open(tmp, 'wx', 0o600);
      try {
        await fh.truncate(sizeBytes); // sparse: the host spends only what the sandbox writes
      } finally {
        await fh.close();
      }
      await sh('mkfs.ext4', [
        '-q',
        '-F',
        '-m',
        '0',
        '-L',
        'workspace',
        '-E',
        `root_owner=${SANDBOX_UID}:${SANDBOX_UID},lazy_itable_init=1,lazy_journal_init=1`,
        tmp,
      ]).catch(async (err: unknown) => {
        await rm(tmp, { force: true });
        throw err;
      });
      await rename(tmp, image);
      fresh = true;
    }
    const mnt = await this.ensureMounted(uid);
    // An empty root lets the engine copy the image's files at the mount path in, as for a plain volume.
    if (fresh) await rmdir(join(mnt, 'lost+found')).catch(() => undefined);
    return mnt;
  }

  /** Mounts an existing image when it is not mounted (after a host restart); returns the mount point. */
  async ensureMounted(uid: string): Promise<string> {
    const mnt = this.mountPath(uid);
    if (mountPoints().has(mnt)) return mnt;
    await mkdir(mnt, { recursive: true, mode: 0o700 });
    // noinit_itable: no background zeroing of inode tables; nosuid/nodev: nothing in it elevates.
    const image = this.imagePath(uid);
    await sh('mount', ['-t', 'ext4', '-o', 'loop,nosuid,nodev,noatime,noinit_itable', image, mnt]);
    // Direct I/O on the loop device: without it every block is cached twice (the workspace's page
    // cache and the image file's), which cut synced write throughput to about a third of a plain volume.
    const devices = await sh('losetup', ['-j', image, '-n', '-O', 'NAME']).catch(() => '');
    for (const dev of devices.split('\n').map((l) => l.trim())) {
      if (dev.startsWith('/dev/loop')) await sh('losetup', ['--direct-io=on', dev]).catch(() => undefined);
    }
    return mnt;
  }

  /** Unmounts, detaches and deletes everything of `uid`. Idempotent. */
  async release(uid: string): Promise<void> {
    const mnt = this.mountPath(uid);
    const image = this.imagePath(uid);
    if (mountPoints().has(mnt)) {
      // Lazy when busy (an engine still finishing with it): the filesystem goes once the last user does.
      await sh('umount', [mnt]).catch(() => sh('umount', ['-l', mnt]));
    }
    // Loop devices left attached to the image (a crash between attach and mount) are detached too.
    const attached = await sh('losetup', ['-j', image, '-n', '-O', 'NAME']).catch(() => '');
    for (const dev of attached.split('\n').map((l) => l.trim())) {
      if (dev.startsWith('/dev/loop')) await sh('losetup', ['-d', dev]).catch(() => undefined);
    }
    // The image goes last: it is what observe looks for (hasImage), so a crash anywhere in here leaves
    // it behind and the next pass releases again; removed first, a crash before the rmdir left the
    // mount point until the next orphan sweep (crash-at-every-step saw it under load).
    await rmdir(mnt).catch(async (err: unknown) => {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return;
      // Files written into the bare directory while nothing was mounted on it (nothing should): moved
      // aside whole, never walked, so nothing mounted or linked below it meanwhile is followed.
      if (code === 'ENOTEMPTY') {
        await mkdir(this.leftoversDir, { recursive: true, mode: 0o700 });
        return rename(mnt, join(this.leftoversDir, `${uid}-${randomBytes(4).toString('hex')}`));
      }
      throw err; // EBUSY and the like: still in use; the next pass tries again, the image marks it
    });
    for (const f of await readdir(this.imagesDir).catch(() => [] as string[])) {
      if (f.startsWith(`${uid}.img.tmp-`)) await rm(join(this.imagesDir, f), { force: true });
    }
    await rm(image, { force: true });
  }

  /** Sandbox uids that have an image, a temporary image or a mount point here. */
  async list(): Promise<string[]> {
    const uids = new Set<string>();
    for (const f of await readdir(this.imagesDir).catch(() => [] as string[])) {
      const m = /^(.+?)\.img(\.tmp-[0-9a-f]+)?$/.exec(f);
      if (m?.[1] && UID_RE.test(m[1])) uids.add(m[1]);
    }
    for (const d of await readdir(this.mountsDir).catch(() => [] as string[]))
      if (UID_RE.test(d)) uids.add(d);
    return [...uids];
  }
}
