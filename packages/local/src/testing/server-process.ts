/**
 * The local platform as its own process, the way `agenttier up` runs it: for suites that kill it
 * (`kill -9`) and start it again on the same data dir. Port 0; keyless loopback callers are admin.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { dockerHost, removeDir, removeEngineObjects, testNamespace } from './platform.ts';

export interface ServerProcess {
  child: ChildProcess;
  /** `http://127.0.0.1:<port>`, from the server's own "listening" log line. */
  base: string;
  /** Resolves with the exit code (null when a signal ended it). */
  exited: Promise<number | null>;
  /** SIGKILL, and resolves once it is gone (at once if it already is). */
  kill9(): Promise<void>;
}

export interface ServerProcessOpts {
  dataDir: string;
  /** The entry to run. @default the platform's own main (`agenttier up`) */
  entry?: URL;
  /** More environment (e.g. AGENTTIER_CRASH_AT for testing/crash-server.ts). */
  env?: Record<string, string>;
}

export async function startServerProcess(opts: ServerProcessOpts): Promise<ServerProcess> {
  const entry = opts.entry ?? new URL('../main.ts', import.meta.url);
  const child = spawn(process.execPath, ['--import', 'tsx', entry.pathname], {
    env: {
      ...process.env,
      AGENTTIER_DATA_DIR: opts.dataDir,
      AGENTTIER_PORT: '0',
      AGENTTIER_DOCKER_HOST: dockerHost,
      // The suites call the API without keys (as crash-server.ts does): every loopback caller is admin.
      AGENTTIER_DEV_AUTH: 'true',
      ...opts.env,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const kill9 = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  try {
    const base = await new Promise<string>((resolve, reject) => {
      let log = '';
      child.stderr!.on('data', (chunk: Buffer) => {
        log += chunk.toString();
        const m = /"url":"(http:\/\/[^"]+)"/.exec(log);
        if (m) resolve(m[1]!);
      });
      void exited.then((code) => reject(new Error(`server exited with ${code}: ${log}`)));
    });
    return { child, base, exited, kill9 };
  } catch (err) {
    await kill9();
    throw err;
  }
}

export interface ServerProcessBed {
  /** The file's own namespace: `<prefix>-<random>`. */
  ns: string;
  /** The data dir every server of the file runs on. */
  dataDir: string;
  /** Starts a server process on the data dir. */
  start(opts?: Omit<ServerProcessOpts, 'dataDir'>): Promise<ServerProcess>;
}

/**
 * A namespace and a data dir for a test file whose tests start and kill server processes; afterAll
 * kills every server still running and removes the namespace's containers and volumes and the data
 * dir, whatever the tests left.
 */
export function useServerProcesses(prefix: string): ServerProcessBed {
  const ns = testNamespace(prefix);
  const dataDir = mkdtempSync(join(tmpdir(), `agenttier-${prefix}-`));
  const servers: ServerProcess[] = [];
  afterAll(async () => {
    for (const s of servers) await s.kill9();
    await removeEngineObjects(ns);
    removeDir(dataDir);
  });
  return {
    ns,
    dataDir,
    async start(opts = {}) {
      const server = await startServerProcess({ ...opts, dataDir });
      servers.push(server);
      return server;
    },
  };
}
