/**
 * sandboxd entry point (bundled to dist/sandboxd.mjs). Started inside the sandbox as
 * `tini -s -- /opt/agenttier/node/bin/node /opt/agenttier/sandboxd/sandboxd.mjs`.
 */
import { createSandboxd } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './log.ts';

declare const SANDBOXD_VERSION: string | undefined;

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    process.exit(2);
  }
  const log = createLogger(config.logLevel);
  const version = typeof SANDBOXD_VERSION === 'string' ? SANDBOXD_VERSION : 'dev';
  const daemon = createSandboxd({ ...config.options, log, version });

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
      process.exit(1);
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
