import type {
  AuditEvent,
  CredentialRef,
  EnvVar,
  InvokeReason as WireInvokeReason,
  ResourcesSpec,
  SandboxPhase,
  SandboxView,
  TemplateSpec,
  TemplateView,
} from '@agenttier/contract';

/** Every call accepts a signal; aborting rejects with the signal's reason. */
export interface CallOpts {
  signal?: AbortSignal;
}

export interface CreateSandboxOpts extends CallOpts {
  /** Sandbox name: lowercase letters, digits and `-` (DNS label). */
  name: string;
  /** Template to start from (a ClusterSandboxTemplate unless `templateKind` says otherwise). */
  template: string;
  /** @default ClusterSandboxTemplate // resolved by the server */
  templateKind?: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  /** @default the server's sandbox namespace ('default') */
  namespace?: string;
  /** `code` (interactive) or `agent` (configure/invoke). @default the template's mode */
  mode?: 'code' | 'agent';
  /** Maximum lifetime as a Go duration, e.g. `"8h"`. @default the template's */
  timeout?: string;
  /** Stop after this long without activity, e.g. `"30m"`. @default the template's */
  idleTimeout?: string;
  /** Workspace volume size, e.g. `"10Gi"`. @default the template's */
  storageSize?: string;
  resources?: ResourcesSpec;
  /** Extra environment variables, as a map or as `[{name, value}]`. */
  env?: Record<string, string> | EnvVar[];
  /** Secrets handed to the sandbox at start (`client.secrets` locally; labelled Secrets on Kubernetes). */
  credentials?: CredentialRef[];
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

export interface ListSandboxesOpts extends CallOpts {
  /** Only this namespace. @default all namespaces you can see */
  namespace?: string;
  /** Only this phase (exact match). */
  status?: SandboxPhase | (string & NonNullable<unknown>);
}

export interface WaitOpts extends CallOpts {
  /** Give up after this long with a TimeoutError. @default 120000 */
  timeoutMs?: number;
  /** Time between polls. @default 1000 */
  pollIntervalMs?: number;
  /** Called whenever the observed phase changes (and once with the first phase seen). */
  onPhase?: (phase: string, sandbox: SandboxView) => void;
}

export interface ExecOpts extends CallOpts {
  /** Server-side limit for the command, in seconds. @default the server's (30 s) */
  timeoutSec?: number;
  /** Extra environment variables for the command. */
  env?: Record<string, string>;
  /** Working directory (absolute). @default the sandbox's working directory */
  cwd?: string;
  /** Text written to the command's stdin. */
  stdin?: string;
}

/**
 * One event of `Sandbox.execStream` and `sandbox.processes.output`. `offset` is the byte position of
 * the chunk in the process's combined stdout+stderr, `nextOffset` where the next chunk starts (pass it
 * as `fromOffset` to continue after this chunk).
 */
export type ExecStreamEvent =
  | {
      type: 'start';
      processId?: string;
      pid?: number | null;
      /** Where the replay actually starts (later than asked when the buffer dropped older output). */
      fromOffset?: number;
      /** Bytes between the requested offset and `fromOffset` that can no longer be replayed. */
      droppedBytes?: number;
      [key: string]: unknown;
    }
  | { type: 'stdout'; data: string; offset?: number; nextOffset?: number }
  | { type: 'stderr'; data: string; offset?: number; nextOffset?: number }
  | { type: 'exit'; exitCode: number; signal?: string | null; timedOut?: boolean; durationMs?: number };

export interface StartProcessOpts extends ExecOpts {
  /** A label shown in listings (`agenttier sandbox ps`). */
  name?: string;
  /** Kill it after this many seconds. @default no limit */
  timeoutSec?: number;
}

export interface ProcessOutputOpts extends CallOpts {
  /** Byte offset to replay from (0 = everything still buffered). @default 0 */
  fromOffset?: number;
  /** Reconnect attempts when the stream drops; it resumes at the last offset seen. @default 3 */
  maxRetries?: number;
}

/** A file `agent.configure` writes. Give `content` (text or bytes) or `contentBase64`. */
export interface ConfigureFile {
  /** Absolute path under `/workspace` (or `/tmp`). */
  path: string;
  /** Text is sent as UTF-8; bytes are sent base64-encoded. */
  content?: string | Uint8Array;
  contentBase64?: string;
  /** File mode, e.g. `0o755` or `"755"`. */
  mode?: number | string;
}

/** One line of configure or invoke output. */
export interface LogLine {
  stream: 'stdout' | 'stderr';
  data: string;
}

export interface ConfigureOpts extends CallOpts {
  files?: ConfigureFile[];
  /** Runs once, as argv (no shell), in `/workspace`; skipped when nothing changed. */
  installCommand?: string[];
  /** The argv each invoke runs. */
  entrypoint?: string[];
  /** Go duration, e.g. `"20m"`. @default the server's (15m) */
  installTimeout?: string;
  /** Invokes allowed at once (0 = unlimited). */
  maxConcurrentInvokes?: number;
  /** Go duration; the time limit of each invoke unless the call lowers it. @default 30m */
  defaultInvokeTimeout?: string;
  /** Each `log` line as it arrives (upload notices and install output). */
  onLog?: (line: LogLine) => void;
}

/** The `result` of a configure. A non-zero `installExitCode` is a result, not an error. */
export interface ConfigureResult {
  lastConfiguredAt: string;
  installCommandHash: string;
  entrypoint?: string[];
  installExitCode: number;
  /** True when the install command and files were unchanged, so nothing was written or run. */
  skipped: boolean;
  [key: string]: unknown;
}

/** Why an invoke ended: the server's reasons, and any a newer server adds (kept as sent). */
export type InvokeReason = WireInvokeReason | (string & NonNullable<unknown>);

export interface InvokeOpts extends CallOpts {
  /** The entrypoint's stdin: text, bytes, a Blob or a stream. At most 16 MiB. */
  input?: string | Uint8Array | Blob | ReadableStream<Uint8Array>;
  /** Appended to the entrypoint as `--prompt=<value>`; also its stdin when `input` is empty. */
  prompt?: string;
  /** Go duration that lowers the sandbox's invoke time limit, e.g. `"5m"`. */
  timeout?: string;
}

/**
 * One event of an invoke stream. `eventId` is the SSE id: pass the last one seen to
 * `agent.attach(invokeId, { lastEventId })` to continue after it.
 */
export type InvokeEvent =
  | { type: 'start'; invokeId: string; startedAt: number; eventId?: number }
  | { type: 'log'; stream: 'stdout' | 'stderr'; data: string; eventId?: number }
  | {
      type: 'exit';
      invokeId: string;
      /** The entrypoint's exit code; -1 when `reason` is not `completed`. */
      exitCode: number;
      durationMs: number;
      reason: InvokeReason;
      eventId?: number;
    };

/** What `agent.invoke()` collects. stdout/stderr hold the lines, each ending in `\n`. */
export interface InvokeResult {
  invokeId: string;
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs: number;
  reason: InvokeReason;
}

export interface AttachOpts extends CallOpts {
  /** Replay only events after this id (the `eventId` last seen). @default all of them */
  lastEventId?: number | string;
  /** Reconnect attempts when the stream drops; it resumes after the last event seen. @default 3 */
  maxRetries?: number;
}

export interface ApplyTemplateInput {
  name: string;
  /** @default ClusterSandboxTemplate */
  kind?: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  /** Only for namespaced `SandboxTemplate`s. */
  namespace?: string;
  spec: TemplateSpec;
}

export interface ApplyTemplateResult {
  /** `created` when the template did not exist before, else `updated`. */
  action: 'created' | 'updated';
  template: TemplateView;
}

/** One audited call (`GET /api/v1/audit/events`); the contract's `AuditEvent` under the SDK's name. */
export type AuditEventView = AuditEvent;

export interface ListAuditEventsOpts extends CallOpts {
  /** Only this user's events (admins; others always get their own). */
  actor?: string;
  /** Only events on this target, e.g. `sandbox:default/demo`. */
  target?: string;
  /** 1–500. @default 100 */
  limit?: number;
  /** Events older than this id (the previous page's `next`). */
  before?: number;
}
