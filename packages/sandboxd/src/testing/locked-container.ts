/**
 * Test support: sandboxd in a real locked-down container (network none, read-only root, uid 1000, no
 * capabilities, no-new-privileges, the engine's init as PID 1, pids and memory limits), reached over a
 * unix socket in a host directory. Only for tests.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, chown, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { eventually } from '@agenttier/testkit';

import { ensureSandboxdBundle } from '../bundle.ts';
import { createSandboxdClient } from '../client.ts';
import type { SandboxdClient } from '../client.ts';

const run = promisify(execFile);
export const TEST_DOCKER_HOST = process.env.AGENTTIER_DOCKER_HOST ?? 'unix:///run/agenttier/docker.sock';
export const TEST_IMAGE = process.env.SANDBOXD_IT_IMAGE ?? 'agenttier/minimal-shell:dev';

export async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['-H', TEST_DOCKER_HOST, ...args], { maxBuffer: 16 << 20 });
  return stdout.trim();
}

export interface LockedContainer {
  name: string;
  runDir: string;
  client: SandboxdClient;
  /** A fresh client (the old one's pooled connections may be gone after a restart). */
  newClient(): SandboxdClient;
  remove(): Promise<void>;
}

export interface LockedContainerOpts {
  /** Container name prefix; a random suffix is added. */
  prefix: string;
  pidsLimit?: number;
  memory?: string;
  /** Extra `docker run` arguments before the image. */
  extraArgs?: string[];
}

/** Starts the container and waits until sandboxd answers. */
export async function startLockedContainer(opts: LockedContainerOpts): Promise<LockedContainer> {
  const bundle = await ensureSandboxdBundle();
  await eventually(async () => (await docker('images', '-q', TEST_IMAGE)) !== '', `image ${TEST_IMAGE}`, {
    timeoutMs: 10 * 60_000,
    intervalMs: 100,
  });
  const name = `${opts.prefix}-${randomBytes(4).toString('hex')}`;
  const runDir = await mkdtemp(join(tmpdir(), `${opts.prefix}-`));
  const token = randomBytes(24).toString('hex');
  await writeFile(join(runDir, 'token'), token, { mode: 0o600 });
  await chown(join(runDir, 'token'), 1000, 1000);
  await chown(runDir, 1000, 1000);
  await chmod(runDir, 0o700);
  await docker(
    'run',
    '-d',
    '--name',
    name,
    '--label',
    'io.agenttier.test=sandboxd-int',
    '--network',
    'none',
    '--read-only',
    '--tmpfs',
    '/tmp:rw,nosuid,nodev,mode=1777',
    '--tmpfs',
    '/workspace:rw,nosuid,nodev,uid=1000,gid=1000,mode=0755',
    '--user',
    '1000:1000',
    '--cap-drop',
    'ALL',
    '--security-opt',
    'no-new-privileges',
    '--init',
    '--pids-limit',
    String(opts.pidsLimit ?? 200),
    '--memory',
    opts.memory ?? '1g',
    '-v',
    `${bundle.dir}:/opt/agenttier/sandboxd:ro`,
    '-v',
    `${dirname(bundle.nodeBinary)}:/opt/agenttier/node/bin:ro`,
    '-v',
    `${runDir}:/run/agenttier`,
    '-e',
    'AGENTTIER_SANDBOXD_TOKEN_FILE=/run/agenttier/token',
    '-e',
    'HOME=/workspace',
    ...(opts.extraArgs ?? []),
    '--entrypoint',
    '/opt/agenttier/node/bin/node',
    TEST_IMAGE,
    '/opt/agenttier/sandboxd/sandboxd.mjs',
  );
  const newClient = (): SandboxdClient =>
    createSandboxdClient({ socketPath: join(runDir, 'sandboxd.sock') }, token);
  const client = newClient();
  await eventually(
    async () => (await client.health({ timeoutMs: 1000 })).status === 'ok',
    'sandboxd health',
    { timeoutMs: 30_000, intervalMs: 100 },
  );
  return {
    name,
    runDir,
    client,
    newClient,
    async remove() {
      client.close();
      await docker('rm', '-f', name).catch(() => undefined);
      await rm(runDir, { recursive: true, force: true });
    },
  };
}
