/**
 * Wire types of the sandboxd HTTP/WebSocket API, shared by the daemon and its client.
 *
 * Conventions: JSON bodies; errors are `{"error":{"code","message","details?"}}` with the HTTP status from
 * {@link SANDBOXD_ERROR_STATUS}; times are RFC 3339 strings; sizes and offsets are bytes.
 */
import type { ProcessInfo as WireProcessInfo } from '@agenttier/contract';

/** API version reported by `/healthz`; bump on incompatible wire changes. */
export const SANDBOXD_API_VERSION = 1;

/** Every error code sandboxd can return, with its HTTP status. */
export const SANDBOXD_ERROR_STATUS = {
  invalid_argument: 400,
  invalid_path: 400,
  not_a_directory: 400,
  is_a_directory: 400,
  unauthorized: 401,
  outside_allowed_roots: 403,
  permission_denied: 403,
  not_found: 404,
  method_not_allowed: 405,
  exists: 409,
  not_empty: 409,
  process_running: 409,
  too_large: 413,
  too_many_processes: 429,
  too_many_sessions: 429,
  internal: 500,
  pty_unavailable: 501,
  /** In the sandbox: the tunnel could not connect to the requested port. */
  connect_failed: 502,
  resource_exhausted: 503,
  shutting_down: 503,
  /** Client side: sandboxd itself could not be reached (not started, socket gone, crashed). */
  unreachable: 503,
  /** Client side: the daemon's answer does not fit this protocol (e.g. an error code outside this catalogue). */
  bad_answer: 502,
} as const;

export type SandboxdErrorCode = keyof typeof SANDBOXD_ERROR_STATUS;

/** Codes worth retrying after a short wait (transient pressure inside the sandbox). */
export const SANDBOXD_RETRYABLE_CODES: readonly SandboxdErrorCode[] = [
  'too_many_processes',
  'resource_exhausted',
  'unreachable',
];

export interface ErrorBody {
  error: { code: SandboxdErrorCode; message: string; details?: Record<string, unknown> };
}

export interface HealthInfo {
  status: 'ok';
  apiVersion: number;
  version: string;
  pid: number;
  uptimeMs: number;
}

export interface DaemonInfo extends HealthInfo {
  node: string;
  uid: number;
  gid: number;
  hostname: string;
  startedAt: string;
  allowedRoots: string[];
  defaultCwd: string;
  ptyAvailable: boolean;
  limits: {
    maxProcesses: number;
    maxOutputBytes: number;
    processBufferBytes: number;
    terminalBufferBytes: number;
    maxTerminals: number;
  };
  counts: { runningProcesses: number; processes: number; terminals: number };
}

// ---------------------------------------------------------------- processes

export type CommandSpec = string[] | string;

export interface ExecRequest {
  /** argv (run directly) or a string (run via `/bin/sh -c`). */
  command: CommandSpec;
  env?: Record<string, string>;
  /** Absolute working directory. @default the daemon's default cwd (`/workspace` when present) */
  cwd?: string;
  /** Kill the process group after this long. @default 60000 (exec); none (background) */
  timeoutMs?: number;
  /** Data written to stdin, then stdin is closed. Without it stdin is at its end at once (exec). */
  stdin?: string;
  /** @default 'utf8' */
  stdinEncoding?: 'utf8' | 'base64';
  /** Encoding of `stdout`/`stderr` in the response. @default 'utf8' */
  outputEncoding?: 'utf8' | 'base64';
  /** Cap per stream; past it output is dropped and `\n[output truncated]` appended. @default 8 MiB */
  maxOutputBytes?: number;
  /** Grace between SIGTERM and SIGKILL when the timeout fires. @default 1000 */
  killGraceMs?: number;
}

/**
 * `GET /v1/files/archive?path=&maxBytes=&maxEntries=`: a tar of a directory (see server/archive.ts).
 * A directory over either cap is refused with `too_large` before the body starts; the answer's
 * headers say how many file bytes and entries the tar carries.
 */
export const ARCHIVE_DEFAULT_MAX_BYTES = 32 * 1024 * 1024;
export const ARCHIVE_DEFAULT_MAX_ENTRIES = 100_000;
export const ARCHIVE_BYTES_HEADER = 'x-archive-bytes';
export const ARCHIVE_ENTRIES_HEADER = 'x-archive-entries';

/** Appended by sandboxd to an exec stream it cut at `maxOutputBytes` (utf8 output only). */
export const EXEC_TRUNCATION_MARKER = '\n[output truncated]';

export interface ExecResult {
  stdout: string;
  stderr: string;
  /** Exit status; 128+n when killed by signal n; -1 when the timeout fired; 127/126 when argv[0] could not be run. */
  exitCode: number;
  /** Signal name when the process was killed by a signal (e.g. `SIGKILL`), else null. */
  signal: string | null;
  durationMs: number;
  timedOut: boolean;
  truncated: boolean;
}

export interface StartProcessRequest extends Omit<ExecRequest, 'outputEncoding' | 'maxOutputBytes'> {
  /** Keep stdin open as a pipe (write via attach or POST …/stdin). @default true */
  openStdin?: boolean;
  /**
   * Kill the process when its last attachment closes; also when nobody attaches within 30 s.
   * For streaming exec where the client going away cancels the command. @default false
   */
  killOnDetach?: boolean;
  /** Free-form label shown in listings. */
  name?: string;
}

export type ProcessState = 'running' | 'exited';

/** A process as sandboxd reports it: the router relays it as is, so the type is the wire type in contract. */
export type ProcessInfo = WireProcessInfo;

/**
 * Process attach (WebSocket `GET /v1/processes/{id}/attach?fromOffset=&killOnDetach=`).
 *
 * Server→client binary frames carry output: byte 0 = stream (1 stdout, 2 stderr), bytes 1–8 = big-endian
 * uint64 offset of the first payload byte in the combined stdout+stderr sequence, then the payload.
 * Client→server binary frames are written to stdin. Text frames are JSON control messages.
 */
export const STREAM_STDOUT = 1;
export const STREAM_STDERR = 2;
export const OUTPUT_FRAME_HEADER_BYTES = 9;

export type AttachServerMessage =
  | {
      type: 'attached';
      process: ProcessInfo;
      /** Offset replay actually starts at (≥ requested when the buffer already dropped older bytes). */
      fromOffset: number;
      /** Bytes between the requested offset and the buffer start that can no longer be replayed. */
      droppedBytes: number;
    }
  | { type: 'exit'; exitCode: number; signal: string | null; timedOut: boolean; durationMs: number }
  | { type: 'error'; code: SandboxdErrorCode; message: string };

export type AttachClientMessage =
  | { type: 'stdin'; data: string; encoding?: 'utf8' | 'base64' }
  | { type: 'closeStdin' }
  | { type: 'signal'; signal: string };

export interface OutputChunk {
  stream: 'stdout' | 'stderr';
  offset: number;
  data: Buffer;
}

// ---------------------------------------------------------------- files

export interface FileInfo {
  name: string;
  path: string;
  isDir: boolean;
  isFile: boolean;
  isSymlink: boolean;
  size: number;
  /** Permission bits, e.g. 0o644 = 420. */
  mode: number;
  /** `ls -l` style, e.g. `drwxr-xr-x`. */
  modeString: string;
  modifiedAt: string;
  /** Link text when the entry is a symlink. */
  symlinkTarget?: string;
}

export interface ListDirResult {
  path: string;
  entries: FileInfo[];
}

export interface WriteFileResult {
  path: string;
  bytes: number;
}

export interface WatchEvent {
  type: 'created' | 'modified' | 'deleted';
  path: string;
}

// ---------------------------------------------------------------- terminals

// The frames are the public terminal protocol (the router passes them through): contract declares them.
export type { TerminalClientFrame, TerminalCloseReason, TerminalServerFrame } from '@agenttier/contract';

/** Response headers of the terminal WebSocket upgrade. */
export const TERMINAL_SESSION_HEADER = 'x-sandboxd-session';
export const TERMINAL_CREATED_HEADER = 'x-sandboxd-session-created';

export interface TerminalInfo {
  session: string;
  pid: number;
  shell: string;
  cwd: string;
  cols: number;
  rows: number;
  viewers: number;
  persistent: boolean;
  createdAt: string;
  lastActivityAt: string;
}

// ---------------------------------------------------------------- ports

export interface ListeningPort {
  port: number;
  address: string;
  family: 'tcp' | 'tcp6';
  inode: number;
  /** Process holding the socket, when visible (same uid). */
  pid: number | null;
  /** Its command line (arguments joined by spaces, at most 256 characters). */
  command: string | null;
}

/** Value of the `Upgrade` header for the raw TCP tunnel (`GET /v1/tcp/{port}`). */
export const TCP_UPGRADE_PROTOCOL = 'agenttier-tcp';

export interface OnStartStatus {
  configured: boolean;
  command: string | null;
  process: ProcessInfo | null;
  /** Output (stdout+stderr interleaved) still in the buffer, utf8. */
  log: string;
}
