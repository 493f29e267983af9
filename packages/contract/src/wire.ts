import type { TemplateSpec } from './resources.ts';

/**
 * Response bodies of the REST API that are not resources: declared once here; the server produces
 * them, the SDK re-exports these types.
 */

export type InvokeReason = 'completed' | 'canceled' | 'timeout' | 'error';

/** A template as `GET /templates` and `GET /templates/{name}` show it. */
export interface TemplateView {
  name: string;
  kind: 'ClusterSandboxTemplate' | 'SandboxTemplate';
  namespace?: string;
  description: string;
  image: string;
  mode: string;
  resourceVersion: string;
  createdAt: string;
  labels: Record<string, string>;
  spec: TemplateSpec;
}

/** A forwarded port of a sandbox (`GET …/ports`), reachable through the preview proxy. */
export interface PortView {
  port: number;
  protocol: 'http' | 'tcp';
  /**
   * The preview URL (HTTP and WebSocket) on the port's own origin, as the server builds it. Servers
   * before the escaped host form (names with `--`) answered null for such names.
   */
  previewUrl: string | null;
  /** The address inside the sandbox. */
  internalUrl: string;
  /** The name the port was forwarded with (`forward(8000, {name: 'web'})`), if any. */
  name?: string;
  /** Whether something listens on the port right now (only when the sandbox is Running). */
  listening?: boolean;
}

/** The durable record of one agent invocation (`GET …/invokes`). Argv and stdin are never stored. */
export interface InvokeRecord {
  invokeId: string;
  namespace: string;
  sandbox: string;
  sandboxUid: string;
  template: string;
  state: 'running' | 'finished';
  detached: boolean;
  startedAt: string;
  finishedAt?: string;
  exitCode?: number;
  reason?: InvokeReason;
  message?: string;
  durationMs?: number;
  bytesStdout: number;
  bytesStderr: number;
  /** Events recorded for replay (ids 1..eventCount). */
  eventCount: number;
  /** The last part of the output (stdout and stderr interleaved), for audits and listings. */
  outputTail: string;
}

/** A process started by exec or in the background (`GET …/processes`), as sandboxd reports it. */
export interface ProcessInfo {
  id: string;
  /** Free-form label shown in listings. */
  name: string | null;
  kind: 'exec' | 'background' | 'onstart';
  pid: number | null;
  command: string[];
  cwd: string;
  state: 'running' | 'exited';
  startedAt: string;
  finishedAt: string | null;
  /** 128+n when killed by signal n, -1 when its timeout fired. */
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number | null;
  killOnDetach: boolean;
  stdinOpen: boolean;
  attachments: number;
  /** Bytes of stdout+stderr produced so far: the offset the next chunk will have. */
  outputBytes: number;
  /** The oldest offset still replayable. */
  bufferStartOffset: number;
}
