/**
 * Response bodies of the REST API that are not resources: declared once here; the server produces
 * them, the SDK re-exports these types.
 */

export type InvokeReason = 'completed' | 'canceled' | 'timeout' | 'error';

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
