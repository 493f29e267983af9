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
  LAUNCH_FILE as SANDBOXD_LAUNCH_FILE,
  sandboxdBundle,
  SANDBOXD_CONTAINER_COMMAND,
  SANDBOXD_MOUNT_DIR,
  SANDBOXD_NODE_MOUNT_DIR,
} from './bundle.ts';
export type { EnsureBundleOpts, SandboxdBundle } from './bundle.ts';
export { DEFAULT_SOCKET as SANDBOXD_DEFAULT_SOCKET, SANDBOXD_ENV } from './server/config.ts';
export {
  SANDBOXD_API_VERSION,
  SANDBOXD_ERROR_STATUS,
  SANDBOXD_RETRYABLE_CODES,
  ARCHIVE_DEFAULT_MAX_BYTES,
  ARCHIVE_DEFAULT_MAX_ENTRIES,
  ARCHIVE_BYTES_HEADER,
  ARCHIVE_ENTRIES_HEADER,
  EXEC_TRUNCATION_MARKER,
  STREAM_STDOUT,
  STREAM_STDERR,
  OUTPUT_FRAME_HEADER_BYTES,
  TERMINAL_SESSION_HEADER,
  TERMINAL_CREATED_HEADER,
  TCP_UPGRADE_PROTOCOL,
} from './protocol.ts';
export type {
  SandboxdErrorCode,
  ErrorBody,
  HealthInfo,
  DaemonInfo,
  CommandSpec,
  ExecRequest,
  ExecResult,
  StartProcessRequest,
  ProcessState,
  ProcessInfo,
  AttachServerMessage,
  AttachClientMessage,
  OutputChunk,
  FileInfo,
  ListDirResult,
  WriteFileResult,
  WatchEvent,
  TerminalClientFrame,
  TerminalCloseReason,
  TerminalServerFrame,
  TerminalInfo,
  ListeningPort,
  OnStartStatus,
} from './protocol.ts';
export { startLocalSandboxd } from './local.ts';
export type { LocalSandboxd, LocalSandboxdOpts } from './local.ts';
