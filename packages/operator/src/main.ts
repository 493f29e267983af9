/**
 * The container entry point of images/controller: `agenttier controller` or `agenttier router`
 * (the CLI proper wires the same functions; this file keeps the image independent of it).
 */
import { startController } from './controller/start-controller.ts';
import { startRouter } from './router/start-router.ts';

async function main(argv: string[]): Promise<void> {
  const role = argv[0];
  let close: () => Promise<void>;
  if (role === 'controller') close = (await startController()).close;
  else if (role === 'router') close = (await startRouter()).close;
  else {
    process.stderr.write('usage: agenttier controller | agenttier router\n');
    process.exit(2);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`${signal}: shutting down\n`);
    // A leader releases its Lease on the way out, so a standby takes over at once.
    close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
    setTimeout(() => process.exit(1), 20_000).unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`agenttier: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
