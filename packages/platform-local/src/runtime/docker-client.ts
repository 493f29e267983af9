import Docker from 'dockerode';

/** Resolves a Docker-API endpoint (Docker or Podman's compatible socket) from `unix://` or `tcp://` text. */
export function createDockerClient(host?: string): Docker {
  const target =
    host ?? process.env.AGENTTIER_DOCKER_HOST ?? process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
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
