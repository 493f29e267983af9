// Starts the local platform directly (`tsx packages/local/src/main.ts`); the CLI's `agenttier up` is the usual way.
import { startLocalPlatform } from './local-platform.ts';

const platform = await startLocalPlatform({
  ...(process.env.AGENTTIER_HOST ? { host: process.env.AGENTTIER_HOST } : {}),
  devAuth: process.env.AGENTTIER_DEV_AUTH === 'true',
});
if (process.env.AGENTTIER_DEV_AUTH !== 'true') {
  const { key, created } = await platform.ensureAdminKey(process.env.AGENTTIER_API_KEY);
  // Shown once: only its hash is kept. `agenttier up` stores it in the CLI config instead.
  if (created) process.stderr.write(`admin API key (shown once; send as X-API-Key): ${key}\n`);
}
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
