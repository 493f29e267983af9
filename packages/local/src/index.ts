// The local platform: router + controller + SQLite store + Docker runtime in one process (`agenttier up`).
export { startLocalPlatform } from './local-platform.ts';
export type { LocalPlatform, LocalPlatformOpts } from './local-platform.ts';
