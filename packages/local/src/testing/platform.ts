/**
 * Integration-test support for anything that drives a whole local platform: a real platform started
 * in-process (temp data dir, port 0) against a chosen Docker-API endpoint, a terse REST helper, and
 * cleanup of only what one test namespace made. The one copy: server, CLI and engine tests use it.
 */
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { LABEL_NAMESPACE } from '@agenttier/contract';
import { createDockerClient } from '@agenttier/platform-local';
import type { LocalPlatform, LocalPlatformOpts } from '../local-platform.ts';
import { startLocalPlatform } from '../local-platform.ts';

/* eslint-disable @typescript-eslint/no-explicit-any -- test helpers return loosely typed JSON for terse assertions */

export const dockerHost = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';

export type TestPlatform = LocalPlatform & { dataDir: string };

/** A namespace unique to one test file, so files can share the engine and clean up only their own. */
export function testNamespace(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

export interface TestPlatformOpts {
  /** Keyless callers are the admin. @default true */
  devAuth?: boolean;
  /** Reuse a data dir (a restart test). @default a new temp dir */
  dataDir?: string;
  /** @default dockerHost (AGENTTIER_DOCKER_HOST or the private engine) */
  dockerHost?: string;
  /** false = engine exec only. @default true */
  sandboxd?: boolean;
  /** OIDC settings (bearer tokens, browser and CLI login); none by default, whatever the environment says. */
  oidc?: LocalPlatformOpts['oidc'];
}

export async function startTestPlatform(opts: TestPlatformOpts = {}): Promise<TestPlatform> {
  const dir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'agenttier-it-'));
  try {
    const platform = await startLocalPlatform({
      port: 0,
      dataDir: dir,
      dockerHost: opts.dockerHost ?? dockerHost,
      logger: pino({ level: process.env.AGENTTIER_TEST_LOG ?? 'silent' }),
      resyncIntervalMs: 2000,
      // The suites call the API without keys; key authentication has its own tests (server/src/auth).
      // `devAuth: false` for suites that exercise a client's credentials (ensureAdminKey() gives one).
      devAuth: opts.devAuth ?? true,
      ...(opts.sandboxd === false ? { sandboxd: false } : {}),
      ...(opts.oidc ? { oidc: opts.oidc } : { oidcEnv: {} }),
    });
    return Object.assign(platform, { dataDir: dir });
  } catch (err) {
    if (!opts.dataDir) rmSync(dir, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Closes the platform and removes its data dir; with a namespace, also every container and volume of
 * that namespace.
 */
export async function stopTestPlatform(
  platform: TestPlatform | undefined,
  opts: { namespace?: string; dockerHost?: string } = {},
): Promise<void> {
  await platform?.close();
  if (opts.namespace) await removeEngineObjects(opts.namespace, opts.dockerHost);
  if (platform) removeDir(platform.dataDir);
}

/** Removes every container and volume a test namespace left behind, whatever state it is in. */
export async function removeEngineObjects(namespace: string, host: string = dockerHost): Promise<void> {
  const docker = createDockerClient(host);
  const filters = { label: [`${LABEL_NAMESPACE}=${namespace}`] };
  for (const c of await docker.listContainers({ all: true, filters })) {
    await docker
      .getContainer(c.Id)
      .remove({ force: true, v: true }) // v: its anonymous run volume too
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

/**
 * Removes a data dir. Loop-mounted workspaces under it are unmounted first (lazily: an engine may still
 * hold a bind of one), or rm would empty the mounted filesystems and leave mounts and loop devices behind.
 */
export function removeDir(dir: string): void {
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((m) => m.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already gone
    }
  }
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

/** Polls the sandbox until its phase is `phase` ('Gone': until it is deleted). */
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
