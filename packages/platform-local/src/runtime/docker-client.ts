import { existsSync } from 'node:fs';
import Docker from 'dockerode';

/** The private engine `scripts/engine.sh` (and so `npm run up` / `npm test`) starts. */
export const PRIVATE_ENGINE_SOCKET = '/run/agenttier/docker.sock';

/**
 * The engine to use when none is given: AGENTTIER_DOCKER_HOST, DOCKER_HOST, the private engine when
 * its socket exists (so `agenttier up` finds what `npm run up` started), else the system socket.
 */
export function defaultDockerHost(env: NodeJS.ProcessEnv = process.env): string {
  return (
    env.AGENTTIER_DOCKER_HOST ??
    env.DOCKER_HOST ??
    (existsSync(PRIVATE_ENGINE_SOCKET) ? `unix://${PRIVATE_ENGINE_SOCKET}` : 'unix:///var/run/docker.sock')
  );
}

/** Resolves a Docker-API endpoint (Docker or Podman's compatible socket) from `unix://` or `tcp://` text. */
export function createDockerClient(host?: string): Docker {
  const target = host ?? defaultDockerHost();
  if (target.startsWith('unix://')) return new Docker({ socketPath: target.slice('unix://'.length) });
  if (target.startsWith('/')) return new Docker({ socketPath: target });
  const url = new URL(target.replace(/^tcp:/, 'http:'));
  return new Docker({ host: url.hostname, port: Number(url.port || 2375), protocol: 'http' });
}

/** Docker answers 404 for a missing object and 304 for "already in that state": both mean done. */
export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 404;
}

export function statusOf(err: unknown): number | undefined {
  return (err as { statusCode?: number })?.statusCode;
}

/**
 * A create that lost a race for the name. Docker answers 409; Podman's compatible API (4.x) answers 500
 * with "... is already in use".
 */
export function isNameConflict(err: unknown): boolean {
  const status = statusOf(err);
  if (status === 409) return true;
  return status === 500 && /already in use/i.test((err as Error)?.message ?? '');
}

/**
 * Whether every `key=value` in `wanted` is among `labels`. Engines filter lists by label themselves, but
 * Podman (4.x) ORs several label filters on volumes where Docker ANDs them, so callers check again.
 */
export function hasLabels(labels: Record<string, string> | null | undefined, wanted: string[]): boolean {
  return wanted.every((kv) => {
    const eq = kv.indexOf('=');
    return eq < 0 ? labels?.[kv] !== undefined : labels?.[kv.slice(0, eq)] === kv.slice(eq + 1);
  });
}
