import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import {
  copyFile,
  cp,
  link,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rename,
  rm,
  stat,
  writeFile,
} from 'node:fs/promises';
import { join, relative } from 'node:path';
import type Docker from 'dockerode';
import type { HostPathOf } from './engine-host-paths.ts';
import { sameHostPath } from './engine-host-paths.ts';

/** Label on the engine volumes that hold a staged copy of the sandboxd bundle (value: its content key). */
export const LABEL_SANDBOXD_BUNDLE = 'agenttier.io/sandboxd-bundle';
const READY = 'ready';

export interface StageSandboxdVolumeOpts {
  docker: Docker;
  /** The bundle directory (sandboxd.mjs and its node_modules). */
  bundleDir: string;
  /** The Node binary sandboxd runs on. */
  nodeBinary: string;
  /** Where the engine's volume directories are on this host (engineHostPaths). @default the same paths */
  hostPathOf?: HostPathOf;
}

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out.push(join(e.parentPath, e.name));
  }
  return out.sort();
}

function sha(...parts: (string | Buffer)[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** Hard link when the engine's data root is on the same mount (free), else copy. */
async function linkOrCopy(from: string, to: string): Promise<void> {
  try {
    await link(from, to);
  } catch {
    await copyFile(from, to, constants.COPYFILE_FICLONE);
  }
}

/**
 * Creates engine volume `name` (label: key) and fills it once: `populate` writes into a staging
 * directory inside the volume, whose top-level entries are then moved into place with rename (atomic; a
 * concurrent router that loses the race keeps the winner's identical copy) and the volume marked ready.
 */
async function stageVolume(
  docker: Docker,
  name: string,
  key: string,
  hostPathOf: HostPathOf,
  populate: (staging: string) => Promise<void>,
): Promise<void> {
  await docker.createVolume({ Name: name, Labels: { [LABEL_SANDBOXD_BUNDLE]: key } });
  const reported = (await docker.getVolume(name).inspect()).Mountpoint;
  if (!reported) throw new Error(`the engine reports no mountpoint for volume ${name}`);
  const mountpoint = hostPathOf(reported);
  const ready = await stat(join(mountpoint, READY)).then(
    () => true,
    () => false,
  );
  if (ready) return;
  const staging = await mkdtemp(join(mountpoint, '.staging-'));
  try {
    await populate(staging);
    for (const entry of await readdir(staging)) {
      await rename(join(staging, entry), join(mountpoint, entry)).catch((err: NodeJS.ErrnoException) => {
        // Another router staged the same content first.
        if (err.code !== 'ENOTEMPTY' && err.code !== 'EEXIST') throw err;
      });
    }
    await writeFile(join(mountpoint, READY), `${key}\n`);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

export interface StagedSandboxd {
  /** Holds the bundle (sandboxd.mjs, node_modules): mount at SANDBOXD_MOUNT. Keyed by its content. */
  bundleVolume: string;
  /** Holds `bin/node`: mount at the parent of NODE_MOUNT. Keyed by the binary, so shared by builds. */
  nodeVolume: string;
}

/**
 * Puts the sandboxd bundle and its Node binary in engine volumes, so sandboxes mount them read-only
 * instead of bind mounts of wherever AgentTier is installed: their mountinfo then names engine volumes,
 * not host directories. Each volume is keyed by its content and filled once; it is only ever mounted
 * read-only, so no sandbox can write what the router writes there. Throws when the engine's volume
 * directories are not reachable from this host (a remote or rootless engine): callers fall back to
 * bind mounts.
 */
export async function stageSandboxdVolumes(opts: StageSandboxdVolumeOpts): Promise<StagedSandboxd> {
  const files = await filesUnder(opts.bundleDir);
  const bundleKey = sha(
    ...(await Promise.all(
      files.map(async (f) => Buffer.concat([Buffer.from(relative(opts.bundleDir, f)), await readFile(f)])),
    )),
  );
  const node = await stat(opts.nodeBinary);
  const nodeKey = sha('node', String(node.size), String(node.mtimeMs));
  const bundleVolume = `agenttier-sandboxd-${bundleKey}`;
  const nodeVolume = `agenttier-sandboxd-node-${nodeKey}`;
  const hostPathOf = opts.hostPathOf ?? sameHostPath;
  await stageVolume(opts.docker, bundleVolume, bundleKey, hostPathOf, async (staging) => {
    await cp(opts.bundleDir, staging, { recursive: true });
  });
  await stageVolume(opts.docker, nodeVolume, nodeKey, hostPathOf, async (staging) => {
    await mkdir(join(staging, 'bin'), { mode: 0o755 });
    await linkOrCopy(opts.nodeBinary, join(staging, 'bin', 'node'));
  });
  return { bundleVolume, nodeVolume };
}
