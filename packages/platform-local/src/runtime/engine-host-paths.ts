import { isAbsolute, join, relative } from 'node:path';
import type Docker from 'dockerode';

/**
 * Daemon label of an engine that sees its data root at a path of its own, not the host's: the
 * private dockerd of scripts/engine.sh (own-fs layout) runs in a mount namespace where its data
 * filesystem is at /engine, loop-mounted on the host at the label's value. Volume mountpoints and
 * mount sources it reports are under /engine; the router reaches them under the label's path. Podman
 * (scripts/podman.sh) carries the same label on a volume instead.
 */
export const LABEL_HOST_DATA_ROOT = 'agenttier.io/host-data-root';

/** Turns a path the engine reports (a volume's mountpoint, a mount's source) into this host's path. */
export type HostPathOf = (enginePath: string) => string;

/** The engine sees the host's paths as they are (a plain dockerd, Podman). */
export const sameHostPath: HostPathOf = (p) => p;

export interface EngineInfoPaths {
  DockerRootDir?: string;
  Labels?: string[];
}

/** The mapping an engine's `info` describes: its data root to the label's host path, else none. */
export function hostPathMapping(info: EngineInfoPaths): HostPathOf {
  const prefix = `${LABEL_HOST_DATA_ROOT}=`;
  const hostRoot = info.Labels?.findLast((l) => l.startsWith(prefix))?.slice(prefix.length);
  const engineRoot = info.DockerRootDir;
  if (!hostRoot || !engineRoot || !isAbsolute(hostRoot) || !isAbsolute(engineRoot)) return sameHostPath;
  return (p) => {
    const rel = relative(engineRoot, p);
    // Only paths inside the engine's data root move; anything else (a bind of a host path) is the host's.
    if (!isAbsolute(p) || rel.startsWith('..') || isAbsolute(rel)) return p;
    return join(hostRoot, rel);
  };
}

/**
 * Where the engine's data root (`DockerRootDir`) is on this host, when the engine sees it at a path of
 * its own: from its daemon label (dockerd), else from the label of a volume carrying it (Podman's API
 * has no daemon labels; scripts/podman.sh makes that volume). Undefined when the paths are the host's.
 */
export async function engineHostDataRoot(
  docker: Docker,
): Promise<{ engineRoot: string; hostRoot: string } | undefined> {
  const info = (await docker.info().catch(() => undefined)) as EngineInfoPaths | undefined;
  const labels = [...(info?.Labels ?? [])];
  const prefix = `${LABEL_HOST_DATA_ROOT}=`;
  if (!labels.some((l) => l.startsWith(prefix))) {
    const listed = await docker
      .listVolumes({ filters: { label: [LABEL_HOST_DATA_ROOT] } })
      .catch(() => undefined);
    for (const v of listed?.Volumes ?? []) {
      const value = v.Labels?.[LABEL_HOST_DATA_ROOT];
      if (value) labels.push(`${prefix}${value}`);
    }
  }
  const hostRoot = labels.findLast((l) => l.startsWith(prefix))?.slice(prefix.length);
  const engineRoot = info?.DockerRootDir;
  if (!hostRoot || !engineRoot || !isAbsolute(hostRoot) || !isAbsolute(engineRoot)) return undefined;
  return { engineRoot, hostRoot };
}

/** Asks the engine once; an engine that does not say otherwise is taken to see the host's paths. */
export async function engineHostPaths(docker: Docker): Promise<HostPathOf> {
  const roots = await engineHostDataRoot(docker);
  return roots
    ? hostPathMapping({
        DockerRootDir: roots.engineRoot,
        Labels: [`${LABEL_HOST_DATA_ROOT}=${roots.hostRoot}`],
      })
    : sameHostPath;
}
