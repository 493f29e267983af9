/**
 * Integration-test support for the CLI: a real local platform started in-process (temp data dir,
 * port 0) and cleanup of the engine objects one test namespace left behind. The same pattern as the
 * server's own test support, copied here because deep imports across packages are not allowed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import { startLocalPlatform } from '@agenttier/server';

export const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';

/** A namespace unique to one test file, so files can share the engine and clean up only their own. */
export function testNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface TestPlatform {
  url: string;
  dataDir: string;
  close(): Promise<void>;
}

export async function startTestPlatform(): Promise<TestPlatform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-cli-it-'));
  const platform = await startLocalPlatform({
    port: 0,
    dataDir,
    dockerHost,
    logLevel: process.env.AGENTTIER_TEST_LOG ?? 'silent',
    resyncIntervalMs: 2000,
  });
  return { url: platform.url, dataDir, close: () => platform.close() };
}

/** Removes every container and volume of a test namespace, whatever state it is in. */
export async function removeEngineObjects(namespace: string): Promise<void> {
  const docker = createDockerClient(dockerHost);
  const filters = { label: [`${LABEL_NAMESPACE}=${namespace}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  }
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** Polls `check` until it returns a value (not undefined) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined>,
  what: string,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} did not happen in time${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
