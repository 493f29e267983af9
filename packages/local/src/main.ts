// Starts the local platform directly (`tsx packages/local/src/main.ts`); the CLI's `agenttier up` is the usual way.
import { startLocalPlatform } from './local-platform.ts';

const platform = await startLocalPlatform({
  ...(process.env.AGENTTIER_HOST ? { host: process.env.AGENTTIER_HOST } : {}),
});
let stopping = false;
const shutdown = () => {
  if (stopping) process.exit(130); // a second Ctrl-C: do not wait any longer
  stopping = true;
  void platform.close().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
