import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { existsSync } from 'node:fs';

import { REAPER_FILE, ensureSandboxdBundle } from './bundle.ts';
import { createSandboxdClient } from './client.ts';
import type { SandboxdClient } from './client.ts';
import { REAPER_PID_ENV } from './server/reaper.ts';

export interface LocalSandboxdOpts {
  /** Allowed roots. @default [<tmp>/workspace, <tmp>/tmp] (fresh temp dirs) */
  roots?: string[];
  /** Default cwd for processes and terminals. @default the first root */
  cwd?: string;
  /** Start hook (`AGENTTIER_ONSTART`). */
  onStart?: string;
  /** Extra environment for the daemon (e.g. `AGENTTIER_SANDBOXD_MAX_PROCESSES`). */
  env?: Record<string, string>;
  /** Also listen on TCP (`AGENTTIER_SANDBOXD_LISTEN`), e.g. `127.0.0.1:0` is not supported: give a port. */
  listen?: string;
}

export interface LocalSandboxd {
  socketPath: string;
  token: string;
  /** Temp directory holding the socket, token and default roots; removed by `stop()`. */
  dir: string;
  workspace: string;
  tmp: string;
  client: SandboxdClient;
  child: ChildProcess;
  /** Everything the daemon logged so far. */
  logs(): string;
  /** SIGTERM (clean shutdown) and remove the temp directory. */
  stop(): Promise<void>;
}

/**
 * Runs the bundled sandboxd as a child process on the host, on a temp unix socket: for tests of sandboxd
 * itself and of anything that talks to it (no container needed; no isolation either).
 */
export async function startLocalSandboxd(opts: LocalSandboxdOpts = {}): Promise<LocalSandboxd> {
  const bundle = await ensureSandboxdBundle();
  const dir = await mkdtemp(join(tmpdir(), 'sandboxd-'));
  const workspace = join(dir, 'workspace');
  const tmp = join(dir, 'tmp');
  await mkdir(workspace);
  await mkdir(tmp);
  const token = randomBytes(24).toString('hex');
  const tokenFile = join(dir, 'token');
  await writeFile(tokenFile, token, { mode: 0o600 });
  const socketPath = join(dir, 'sandboxd.sock');
  const roots = opts.roots ?? [workspace, tmp];
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: workspace,
    LANG: 'C.UTF-8',
    AGENTTIER_SANDBOXD_SOCKET: socketPath,
    AGENTTIER_SANDBOXD_TOKEN_FILE: tokenFile,
    AGENTTIER_SANDBOXD_ROOTS: roots.join(':'),
    AGENTTIER_SANDBOXD_CWD: opts.cwd ?? roots[0] ?? workspace,
    ...(opts.onStart ? { AGENTTIER_ONSTART: opts.onStart } : {}),
    ...(opts.listen ? { AGENTTIER_SANDBOXD_LISTEN: opts.listen } : {}),
    ...opts.env,
  };
  // Like the container's init, a reaper above sandboxd adopts what escapes a killed per-process
  // reaper, and tells sandboxd it may kill those (reaper.ts); without the reaper binary, plain Node.
  const reaper = join(bundle.dir, REAPER_FILE);
  const argv = existsSync(reaper)
    ? [
        reaper,
        '--exit-with-main',
        '--forward-signals',
        '--export-pid',
        REAPER_PID_ENV,
        '--',
        bundle.nodeBinary,
        '--disable-sigusr1',
        bundle.entry,
      ]
    : [bundle.nodeBinary, '--disable-sigusr1', bundle.entry];
  const child = spawn(argv[0] as string, argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const client = createSandboxdClient({ socketPath }, token);
  const stop = async (): Promise<void> => {
    client.close();
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      await rm(dir, { recursive: true, force: true });
      throw new Error(`sandboxd exited during startup:\n${log}`);
    }
    try {
      await client.health({ timeoutMs: 1000 });
      break;
    } catch {
      if (Date.now() > deadline) {
        await stop();
        throw new Error(`sandboxd did not become healthy:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  return { socketPath, token, dir, workspace, tmp, client, child, logs: () => log, stop };
}
