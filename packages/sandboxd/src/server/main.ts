/**
 * sandboxd entry point (bundled to dist/sandboxd.mjs). Started inside the sandbox as
 * `tini -s -- /opt/agenttier/node/bin/node /opt/agenttier/sandboxd/sandboxd.mjs`.
 */
import { access } from 'node:fs/promises';

import { createSandboxd } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';
import { makeNonDumpable } from './dumpable.ts';
import { dropGlobalModulePaths, writableModulePaths } from './module-paths.ts';
import { adoptingParent, findReaper } from './reaper.ts';

declare const SANDBOXD_VERSION: string | undefined;

/**
 * sandboxd could not start. As a container's main process (exec'd by the entrypoint, so PID 1 or the
 * child of the engine's init) it stays up idle instead of exiting: the sandbox keeps running and the
 * router falls back to engine exec, as for an image sandboxd cannot run in. Anywhere else it exits.
 */
function failed(code: number): void {
  if (process.pid !== 1 && process.ppid !== 1) process.exit(code);
  process.stderr.write('sandboxd: not serving; the sandbox stays up (the router uses engine exec)\n');
  const idle = setInterval(() => {}, 2 ** 31 - 1);
  const stop = (): void => {
    clearInterval(idle);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    failed(2);
    return;
  }
  const log = createLogger(config.logLevel);
  // Node opens its inspector (127.0.0.1:9229, no authentication) on SIGUSR1, and the sandbox's code,
  // running as our uid, may signal us: one `kill -USR1` gave it code execution inside sandboxd (our
  // socket, our token, every answer to the router). The launchers pass --disable-sigusr1; a listener
  // of our own also keeps Node from starting the inspector, whatever started us.
  process.on('SIGUSR1', () => log.warn('SIGUSR1 ignored: it would open the Node inspector'));
  // Module resolution must never reach into the sandbox's files (module-paths.ts): no global folders
  // under HOME (the workspace), and ws's optional addons, which the bundle does not carry, are never
  // looked for (a workspace mounted at /node_modules would sit in the bundle's own lookup chain).
  // Set after loadConfig, so the processes sandboxd starts do not inherit them.
  const searched = dropGlobalModulePaths(import.meta.url);
  process.env.WS_NO_BUFFER_UTIL = '1';
  process.env.WS_NO_UTF_8_VALIDATE = '1';
  const writable = writableModulePaths(searched, config.options.roots);
  if (writable.length > 0)
    log.warn('the sandbox can write where modules are looked for', { paths: writable });
  // Before anything else: the sandbox's code runs as our uid and must not ptrace us, write our memory
  // through /proc/PID/mem or read our environment (the token) through /proc/PID/environ.
  const dumpable = makeNonDumpable(import.meta.url);
  if (dumpable !== 'off')
    log.warn('sandboxd stays dumpable: code in the sandbox can ptrace it', { reason: dumpable });
  // libuv starts its thread pool on the first asynchronous fs call and aborts the process when it cannot
  // create a thread. Start it now, while the sandbox's pids limit has room, not later under a fork flood.
  await access('/').catch(() => undefined);
  const version = typeof SANDBOXD_VERSION === 'string' ? SANDBOXD_VERSION : 'dev';
  // Every process and terminal runs under its own subreaper when the bundle has one (reaper.ts).
  const reaper = process.env.AGENTTIER_SANDBOXD_REAPER === 'off' ? undefined : findReaper(import.meta.url);
  if (!reaper)
    log.warn('no agenttier-reaper next to sandboxd: double-forked processes can outlive their exec');
  const daemon = createSandboxd({
    ...config.options,
    log,
    version,
    reaper,
    adoptingParent: reaper ? adoptingParent() : undefined,
  });

  // sandboxd is the sandbox's first real process: an unexpected error must not take the sandbox down.
  process.on('uncaughtException', (err) => log.error('uncaught exception', { err, stack: err.stack }));
  process.on('unhandledRejection', (err) => log.error('unhandled rejection', { err }));

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info('stopping', { signal });
    const hard = setTimeout(() => process.exit(0), 8000);
    hard.unref();
    void daemon.close('sandbox_stopped').finally(() => process.exit(0));
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {}); // no controlling terminal; ignore hangups

  for (const target of config.listen) {
    try {
      await daemon.listen(target);
    } catch (err) {
      log.error('cannot listen', { target, err });
      failed(1);
      return;
    }
  }
  log.info('sandboxd ready', {
    version,
    pid: process.pid,
    uid: process.getuid?.(),
    listen: config.listen,
    roots: config.options.roots,
    auth: config.token !== null,
  });
  await daemon.runStartHook();
}

void main();
