import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import type { LocalPlatform } from '../local-platform.ts';
import { startLocalPlatform } from '../local-platform.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- test helpers return loosely typed JSON for terse assertions */

export const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';

/** A namespace unique to one test file, so files can share the engine and clean up only their own. */
export function testNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function startTestPlatform(dataDir?: string): Promise<LocalPlatform & { dataDir: string }> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'agenttier-it-'));
  const platform = await startLocalPlatform({
    port: 0,
    dataDir: dir,
    dockerHost,
    logger: pino({ level: process.env.AGENTTIER_TEST_LOG ?? 'silent' }),
    resyncIntervalMs: 2000,
  });
  return Object.assign(platform, { dataDir: dir });
}

/** Removes every container and volume a test namespace left behind, whatever state it is in. */
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

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body !== undefined
      ? typeof body === 'string' || body instanceof Uint8Array
        ? { body: body as string }
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }
      : {}),
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function waitForPhase(
  base: string,
  ns: string,
  name: string,
  phase: string,
  timeoutMs = 60_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: any;
  while (Date.now() < deadline) {
    const r = await api(base, 'GET', `/api/v1/sandboxes/${name}?namespace=${ns}`);
    last = r;
    if (phase === 'Gone' && r.status === 404) return undefined;
    if (r.json?.status === phase) return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`sandbox ${ns}/${name} did not reach ${phase}; last: ${JSON.stringify(last?.json)}`);
}
