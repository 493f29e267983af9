/**
 * Helpers for this package's engine integration tests (podman.int.test.ts, gvisor.int.test.ts): they
 * drive a whole local platform (`startLocalPlatform` of @agenttier/server) over its REST API against a
 * chosen Docker-API endpoint, and clean up only what their own namespace made.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { startLocalPlatform } from '@agenttier/server';
import type { LocalPlatform } from '@agenttier/server';
import { createDockerClient } from './docker-client.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- REST answers are loosely typed JSON for terse assertions */

export type TestPlatform = LocalPlatform & { dataDir: string };

export function testNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export async function startPlatformOn(
  dockerHost: string,
  opts: { sandboxd?: boolean } = {},
): Promise<TestPlatform> {
  const dataDir = mkdtempSync(join(tmpdir(), 'agenttier-it-'));
  try {
    const platform = await startLocalPlatform({
      port: 0,
      dataDir,
      dockerHost,
      logLevel: process.env.AGENTTIER_TEST_LOG ?? 'silent',
      resyncIntervalMs: 2000,
      ...(opts.sandboxd === false ? { sandboxd: false } : {}),
    });
    return Object.assign(platform, { dataDir });
  } catch (err) {
    rmSync(dataDir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Closes the platform and removes its data dir; with a namespace, also every container and volume of
 * that namespace.
 */
export async function stopPlatform(
  platform: TestPlatform | undefined,
  dockerHost: string,
  namespace?: string,
): Promise<void> {
  await platform?.close();
  if (namespace) await removeNamespace(dockerHost, namespace);
  if (platform) rmSync(platform.dataDir, { recursive: true, force: true });
}

async function removeNamespace(dockerHost: string, namespace: string): Promise<void> {
  const docker = createDockerClient(dockerHost);
  const filters = { label: [`${LABEL_NAMESPACE}=${namespace}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true })
      .catch(() => undefined);
  }
  for (const v of (await docker.listVolumes({ filters })).Volumes ?? []) {
    if (v.Labels?.[LABEL_NAMESPACE] !== namespace) continue; // Podman ORs label filters
    await docker
      .getVolume(v.Name)
      .remove()
      .catch(() => undefined);
  }
}

export async function api(
  base: string,
  method: string,
  path: string,
  body?: unknown,
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(`${base}${path}`, {
    method,
    ...(body === undefined
      ? {}
      : typeof body === 'string'
        ? { body }
        : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
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

/** Polls the sandbox until its phase is `phase` ('Gone': until it is deleted). */
export async function waitForPhase(
  base: string,
  ns: string,
  name: string,
  phase: string,
  timeoutMs = 60_000,
): Promise<any> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    const r = await api(base, 'GET', `/api/v1/sandboxes/${name}?namespace=${ns}`);
    last = r.json;
    if (phase === 'Gone' && r.status === 404) return undefined;
    if (r.json?.status === phase) return r.json;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`sandbox ${ns}/${name} did not reach ${phase}; last: ${JSON.stringify(last)}`);
}

/** POST /exec through the router; returns the JSON answer (stdout, stderr, exitCode, ...). */
export async function execIn(
  base: string,
  ns: string,
  name: string,
  command: string | string[],
  extra: { stdin?: string; timeout?: number } = {},
): Promise<any> {
  const r = await api(base, 'POST', `/api/v1/sandboxes/${name}/exec?namespace=${ns}`, {
    command,
    ...extra,
  });
  if (r.status !== 200) throw new Error(`exec ${JSON.stringify(command)} answered ${r.status}: ${r.text}`);
  return r.json;
}
