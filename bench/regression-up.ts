/**
 * AgentTier installs for a benchmark that compares two source trees in one run: each tree's CLI `up`
 * (what `npm run up` ends in) under that tree's own Node and tsx, on a free loopback port, with its own
 * data dir and CLI config file, its output in a log file. Also the commands around it (git, npm) as
 * tracked process groups, so an interrupted run can end every process it started.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

const started = new Set<ChildProcess>();

/** Kill every process group this module started that is still running (signal handlers call it). */
export function killStarted(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of started) {
    if (child.exitCode === null && child.signalCode === null && child.pid) {
      try {
        process.kill(-child.pid, signal);
      } catch {
        /* already gone */
      }
    }
  }
}

/** The environment without the caller's AgentTier settings (API key, data dir, port…), plus `extra`. */
function cleanEnv(tree: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('AGENTTIER_')) env[k] = v;
  env.PATH = `${join(tree, 'node_modules', '.bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  return { ...env, ...extra };
}

function tail(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/**
 * Runs `cmd args` in `cwd` in its own process group, output appended to `logFile`; rejects with the
 * log's tail when it fails.
 */
export async function runLogged(
  cmd: string,
  args: string[],
  opts: { cwd: string; logFile: string; tree?: string },
): Promise<void> {
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, {
    cwd: opts.cwd,
    env: cleanEnv(opts.tree ?? opts.cwd, {}),
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  started.add(child);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (c) => resolve(c));
  }).finally(() => started.delete(child));
  if (code !== 0)
    throw new Error(`${cmd} ${args.join(' ')} (in ${opts.cwd}) exited ${code}:\n${tail(opts.logFile)}`);
}

/** A free TCP port on 127.0.0.1 (closed again right away; `up` binds it next). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

export interface UpInstall {
  label: string;
  tree: string;
  url: string;
  dataDir: string;
  logFile: string;
  /** The router process (Node running the CLI's `up`). */
  pid: number;
  /** The admin key `up` created and saved in its config file; undefined when `up` makes none. */
  apiKey?: string;
  /** Calls the REST API (`/api/v1` + path) with this install's key. */
  api(path: string, init?: { method?: string; body?: unknown }): Promise<Response>;
  /** Whether the router process is still running. */
  running(): boolean;
  /** SIGINT (`up` closes cleanly), SIGKILL to its group if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<void>;
}

/**
 * Starts `tree`'s `up` on a free loopback port with data dir `<workDir>/<label>` and waits until it says
 * it is running (at most `readyTimeoutMs`).
 */
export async function startUp(opts: {
  label: string;
  tree: string;
  workDir: string;
  dockerHost: string;
  readyTimeoutMs: number;
}): Promise<UpInstall> {
  const dataDir = join(opts.workDir, opts.label);
  mkdirSync(dataDir, { recursive: true });
  const logFile = join(opts.workDir, `${opts.label}-up.log`);
  const configPath = join(opts.workDir, `${opts.label}-cli-config.json`);
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  const child = spawn(
    join(opts.tree, 'node_modules', '.bin', 'node'),
    [
      '--import',
      'tsx',
      'packages/cli/src/main.ts',
      'up',
      '--port',
      String(port),
      '--data-dir',
      dataDir,
      '--docker-host',
      opts.dockerHost,
    ],
    {
      cwd: opts.tree,
      env: cleanEnv(opts.tree, { AGENTTIER_CONFIG: configPath }),
      detached: true, // not in the terminal's group: Ctrl-C reaches the benchmark, which deletes first
      stdio: ['ignore', fd, fd],
    },
  );
  closeSync(fd);
  started.add(child);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  void exited.then(() => started.delete(child));
  const running = () => child.exitCode === null && child.signalCode === null;

  const deadline = Date.now() + opts.readyTimeoutMs;
  for (;;) {
    if (!running()) throw new Error(`${opts.label}: up exited before it was ready:\n${tail(logFile)}`);
    if (existsSync(logFile) && readFileSync(logFile, 'utf8').includes('AgentTier is running')) break;
    if (Date.now() > deadline) throw new Error(`${opts.label}: up not ready in time:\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  const url = `http://127.0.0.1:${port}`;
  const apiKey = existsSync(configPath)
    ? (JSON.parse(readFileSync(configPath, 'utf8')) as { api_key?: string }).api_key
    : undefined;
  return {
    label: opts.label,
    tree: opts.tree,
    url,
    dataDir,
    logFile,
    pid: child.pid!,
    ...(apiKey ? { apiKey } : {}),
    running,
    api: (path, init = {}) =>
      fetch(`${url}/api/v1${path}`, {
        method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
        headers: {
          ...(apiKey ? { 'x-api-key': apiKey } : {}),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        ...(init.body === undefined ? {} : { body: JSON.stringify(init.body) }),
      }),
    stop: async (timeoutMs = 30_000) => {
      if (!running()) return;
      child.kill('SIGINT');
      const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
      if ((await Promise.race([exited, timer])) === 'timeout') {
        try {
          process.kill(-child.pid!, 'SIGKILL');
        } catch {
          /* gone meanwhile */
        }
        await exited;
      }
    },
  };
}

/** CPU time (ms) all threads of process `pid` have used so far (/proc/PID/task/*\/schedstat, ns). */
export function processCpuMs(pid: number): number {
  let ns = 0;
  for (const task of readdirSync(`/proc/${pid}/task`)) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${task}/schedstat`, 'utf8').split(' ')[0]);
    } catch {
      /* thread ended between the listing and the read */
    }
  }
  return ns / 1e6;
}
