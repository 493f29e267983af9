/**
 * @agenttier/sandboxd: the daemon that runs inside every sandbox, how to build and mount it, and the
 * client the router uses to talk to it.
 */
export { createSandboxdClient, ProcessAttachment, TerminalConnection } from './client.ts';
export type {
  ArchiveOpts,
  AttachEvent,
  AttachOpts,
  BodyInput,
  CallOpts,
  ExitEvent,
  FileWatch,
  ReadFileOpts,
  SandboxdClient,
  SandboxdFiles,
  SandboxdTarget,
  TerminalOpts,
  WriteFileOpts,
} from './client.ts';
export { SandboxdError } from './errors.ts';
export {
  ensureSandboxdBundle,
  sandboxdBundle,
  SANDBOXD_CONTAINER_COMMAND,
  SANDBOXD_MOUNT_DIR,
  SANDBOXD_NODE_MOUNT_DIR,
} from './bundle.ts';
export type { EnsureBundleOpts, SandboxdBundle } from './bundle.ts';
export { DEFAULT_SOCKET as SANDBOXD_DEFAULT_SOCKET, SANDBOXD_ENV } from './server/config.ts';
export * from './protocol.ts';
export { startLocalSandboxd } from './local.ts';
export type { LocalSandboxd, LocalSandboxdOpts } from './local.ts';
