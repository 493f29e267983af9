/**
 * @agenttier/sandboxd: the daemon that runs inside every sandbox, how to build and mount it, and the
 * client the router uses to talk to it.
 *
 * Only what other packages use: the wire protocol between the client and the daemon (headers, frame
 * layouts, message types in ./protocol.ts) stays inside this package, which holds both ends.
 */
export { createSandboxdClient, ProcessAttachment, TerminalConnection } from './client.ts';
export type { SandboxdClient, SandboxdTarget } from './client.ts';
export { SandboxdError } from './errors.ts';
export { ensureSandboxdBundle, LAUNCH_FILE as SANDBOXD_LAUNCH_FILE } from './bundle.ts';
export type { EnsureBundleOpts, SandboxdBundle } from './bundle.ts';
export type { ProcessInfo } from './protocol.ts';
export { startLocalSandboxd } from './local.ts';
export type { LocalSandboxd, LocalSandboxdOpts } from './local.ts';
