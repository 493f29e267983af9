import { closeSync, readFileSync, statSync } from 'node:fs';

import type { ListenTarget, SandboxdOptions } from './app.ts';
import type { LogLevel } from './log.ts';

/** Environment variables sandboxd reads (all optional except the token file). */
export const SANDBOXD_ENV = {
  socket: 'AGENTTIER_SANDBOXD_SOCKET',
  listen: 'AGENTTIER_SANDBOXD_LISTEN',
  tokenFile: 'AGENTTIER_SANDBOXD_TOKEN_FILE',
  /** The token itself (local platform: set by the router in the container's environment). */
  token: 'AGENTTIER_SANDBOXD_TOKEN',
  /** A descriptor to read the token from, then close (agenttier-launch: the token never reaches our environ). */
  tokenFd: 'AGENTTIER_SANDBOXD_TOKEN_FD',
  /** A listening unix socket already bound by agenttier-launch as root (instead of binding `socket`). */
  listenFd: 'AGENTTIER_SANDBOXD_LISTEN_FD',
  insecureNoAuth: 'AGENTTIER_SANDBOXD_INSECURE_NO_AUTH',
  roots: 'AGENTTIER_SANDBOXD_ROOTS',
  cwd: 'AGENTTIER_SANDBOXD_CWD',
  onStart: 'AGENTTIER_ONSTART',
  shell: 'AGENTTIER_SHELL',
  maxProcesses: 'AGENTTIER_SANDBOXD_MAX_PROCESSES',
  maxOutputBytes: 'AGENTTIER_SANDBOXD_MAX_OUTPUT_BYTES',
  processBufferBytes: 'AGENTTIER_SANDBOXD_PROCESS_BUFFER_BYTES',
  finishedTtlMs: 'AGENTTIER_SANDBOXD_FINISHED_TTL_MS',
  maxFinished: 'AGENTTIER_SANDBOXD_MAX_FINISHED',
  execTimeoutMs: 'AGENTTIER_SANDBOXD_EXEC_TIMEOUT_MS',
  terminalBufferBytes: 'AGENTTIER_SANDBOXD_TERMINAL_BUFFER_BYTES',
  maxTerminals: 'AGENTTIER_SANDBOXD_MAX_TERMINALS',
  heartbeatMs: 'AGENTTIER_SANDBOXD_HEARTBEAT_MS',
  logLevel: 'AGENTTIER_SANDBOXD_LOG_LEVEL',
} as const;

export const DEFAULT_SOCKET = '/run/agenttier/sandboxd.sock';

export interface DaemonConfig {
  listen: ListenTarget[];
  options: Omit<SandboxdOptions, 'log' | 'version'>;
  logLevel: LogLevel;
}

function int(env: NodeJS.ProcessEnv, name: string, dflt: number, problems: string[]): number {
  const v = env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 0) {
    problems.push(`${name} must be a non-negative integer (got ${JSON.stringify(v)})`);
    return dflt;
  }
  return n;
}

/** Parses `host:port`, `[v6]:port` or `:port`. */
export function parseListen(v: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(v.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port < 1 || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] || '0.0.0.0'), port };
}

/** Children get sandboxd's environment minus sandboxd's own settings. */
export function childBaseEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) continue;
    if (k.startsWith('AGENTTIER_SANDBOXD_') || k === SANDBOXD_ENV.onStart || k === 'NODE_OPTIONS') continue;
    out[k] = v;
  }
  out.PATH ??= '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
  out.HOME ??= '/workspace';
  return out;
}

/** A descriptor number from the environment (>= 3), or undefined when unset. */
function descriptor(env: NodeJS.ProcessEnv, name: string, problems: string[]): number | undefined {
  const v = env[name];
  if (v === undefined || v === '') return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 3) {
    problems.push(`${name} must be a descriptor number of 3 or more`);
    return undefined;
  }
  return n;
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Reads the daemon configuration from the environment. Collects every problem and throws them together
 * so a misconfigured sandbox says everything that is wrong at once.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): DaemonConfig & { token: string | null } {
  const problems: string[] = [];
  const listen: ListenTarget[] = [];
  const tcp = env[SANDBOXD_ENV.listen];
  if (tcp) {
    const t = parseListen(tcp);
    if (t) listen.push(t);
    else problems.push(`${SANDBOXD_ENV.listen} must be host:port (got ${JSON.stringify(tcp)})`);
  }
  const listenFd = descriptor(env, SANDBOXD_ENV.listenFd, problems);
  if (listenFd !== undefined) listen.push({ fd: listenFd });
  else if (env[SANDBOXD_ENV.socket] || !tcp)
    listen.push({ socketPath: env[SANDBOXD_ENV.socket] || DEFAULT_SOCKET });

  let token: string | null = null;
  const tokenFile = env[SANDBOXD_ENV.tokenFile];
  const inlineToken = env[SANDBOXD_ENV.token];
  const tokenFd = descriptor(env, SANDBOXD_ENV.tokenFd, problems);
  if (tokenFd !== undefined) {
    try {
      token = readFileSync(tokenFd, 'utf8').trim();
      if (token.length < 16)
        problems.push(`the token on descriptor ${tokenFd} is shorter than 16 characters`);
    } catch (err) {
      problems.push(
        `cannot read the token on descriptor ${tokenFd}: ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    } finally {
      try {
        closeSync(tokenFd);
      } catch {
        // already closed
      }
    }
  } else if (inlineToken) {
    token = inlineToken.trim();
    if (token.length < 16) problems.push(`${SANDBOXD_ENV.token} is shorter than 16 characters`);
  } else if (tokenFile) {
    try {
      token = readFileSync(tokenFile, 'utf8').trim();
      if (token.length < 16)
        problems.push(`the token in ${SANDBOXD_ENV.tokenFile} is shorter than 16 characters`);
    } catch (err) {
      problems.push(
        `cannot read ${SANDBOXD_ENV.tokenFile} (${tokenFile}): ${(err as NodeJS.ErrnoException).code ?? err}`,
      );
    }
  } else if (env[SANDBOXD_ENV.insecureNoAuth] !== '1') {
    problems.push(
      `${SANDBOXD_ENV.token} or ${SANDBOXD_ENV.tokenFile} is required (or ${SANDBOXD_ENV.insecureNoAuth}=1 for development)`,
    );
  }

  const roots = (env[SANDBOXD_ENV.roots] || '/workspace:/tmp').split(':').filter((r) => r !== '');
  for (const r of roots) if (!r.startsWith('/')) problems.push(`${SANDBOXD_ENV.roots}: ${r} is not absolute`);

  let cwd = env[SANDBOXD_ENV.cwd];
  if (cwd && !cwd.startsWith('/')) problems.push(`${SANDBOXD_ENV.cwd} must be absolute`);
  if (!cwd) cwd = ['/workspace', env.HOME ?? '', '/'].find((d) => d !== '' && isDir(d)) ?? '/';

  const level = (env[SANDBOXD_ENV.logLevel] || 'info') as LogLevel;
  if (!['debug', 'info', 'warn', 'error'].includes(level))
    problems.push(`${SANDBOXD_ENV.logLevel} must be debug|info|warn|error`);

  const options: DaemonConfig['options'] = {
    token,
    roots,
    defaultCwd: cwd,
    baseEnv: childBaseEnv(env),
    onStart: env[SANDBOXD_ENV.onStart] || undefined,
    defaultShell: env[SANDBOXD_ENV.shell] || undefined,
    maxProcesses: int(env, SANDBOXD_ENV.maxProcesses, 256, problems),
    maxOutputBytes: int(env, SANDBOXD_ENV.maxOutputBytes, 8 << 20, problems),
    processBufferBytes: int(env, SANDBOXD_ENV.processBufferBytes, 1 << 20, problems),
    finishedTtlMs: int(env, SANDBOXD_ENV.finishedTtlMs, 10 * 60_000, problems),
    maxFinished: int(env, SANDBOXD_ENV.maxFinished, 256, problems),
    defaultExecTimeoutMs: int(env, SANDBOXD_ENV.execTimeoutMs, 60_000, problems),
    terminalBufferBytes: int(env, SANDBOXD_ENV.terminalBufferBytes, 256 << 10, problems),
    maxTerminals: int(env, SANDBOXD_ENV.maxTerminals, 64, problems),
    heartbeatMs: int(env, SANDBOXD_ENV.heartbeatMs, 30_000, problems) || 30_000,
    pongTimeoutMs: 70_000,
    shutdownGraceMs: 2000,
  };
  if (problems.length > 0) {
    throw new Error(`sandboxd configuration is invalid:\n  - ${problems.join('\n  - ')}`);
  }
  return { listen, options, logLevel: level, token };
}
