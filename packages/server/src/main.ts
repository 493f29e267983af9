// Starts the local platform directly (`tsx packages/server/src/main.ts`); the CLI's `agenttier up` is the usual way.
import { startLocalPlatform } from './local-platform.ts';

const platform = await startLocalPlatform({
  ...(process.env.AGENTTIER_HOST ? { host: process.env.AGENTTIER_HOST } : {}),
});
const shutdown = () => void platform.close().then(() => process.exit(0));
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
