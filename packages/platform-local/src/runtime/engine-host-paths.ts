import { isAbsolute, join, relative } from 'node:path';
import type Docker from 'dockerode';

/**
 * Daemon label of an engine that sees its data root at a path of its own, not the host's: the
 * private dockerd of scripts/engine.sh (own-fs layout) runs in a mount namespace where its data
 * filesystem is at /engine, loop-mounted on the host at the label's value. Volume mountpoints and
 * mount sources it reports are under /engine; the router reaches them under the label's path.
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

/** Asks the engine once; an engine that does not answer `info` is taken to see the host's paths. */
export async function engineHostPaths(docker: Docker): Promise<HostPathOf> {
  const info = (await docker.info().catch(() => undefined)) as EngineInfoPaths | undefined;
  return hostPathMapping(info ?? {});
}
