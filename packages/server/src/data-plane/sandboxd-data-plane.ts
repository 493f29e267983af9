import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { ErrorCode } from '@agenttier/contract';
import type { ArchiveLimits, DataPlane, ExecOutcome, ExecSpec, FileInfo } from '@agenttier/core';
import type { SandboxdClient } from '@agenttier/sandboxd';
import { SandboxdError } from '@agenttier/sandboxd';
import {
  execResultFromDaemon,
  fileInfoFromDaemon,
  fileListFromDaemon,
  writtenBytesFromDaemon,
} from './daemon-answers.ts';

/** sandboxd's error codes on our wire: one table, used by every sandboxd-backed route. */
const CODE_MAP: Record<string, ErrorCode> = {
  invalid_argument: 'BAD_REQUEST',
  invalid_path: 'BAD_REQUEST',
  not_a_directory: 'BAD_REQUEST',
  is_a_directory: 'BAD_REQUEST',
  unauthorized: 'UNAVAILABLE',
  outside_allowed_roots: 'FORBIDDEN',
  permission_denied: 'FORBIDDEN',
  not_found: 'FILE_NOT_FOUND',
  exists: 'CONFLICT',
  not_empty: 'CONFLICT',
  process_running: 'CONFLICT',
  too_large: 'PAYLOAD_TOO_LARGE',
  too_many_processes: 'RATE_LIMITED',
  too_many_sessions: 'RATE_LIMITED',
  pty_unavailable: 'UNAVAILABLE',
  method_not_allowed: 'METHOD_NOT_ALLOWED',
  connect_failed: 'UPSTREAM_UNREACHABLE',
  /** The sandbox's own pids, memory or descriptors are used up; sandboxd itself is fine. */
  resource_exhausted: 'SANDBOX_BUSY',
  shutting_down: 'UNAVAILABLE',
  /** The client could not reach the daemon at all (not started, socket gone, no answer in time). */
  unreachable: 'UNAVAILABLE',
  /** The daemon's answer did not fit the protocol: code in the sandbox may have replaced it. */
  bad_answer: 'RUNTIME_FAILED',
};

export function fromSandboxdError(err: unknown): unknown {
  if (!(err instanceof SandboxdError)) return err;
  // Own keys only: a code such as `__proto__` must not reach Object.prototype.
  const code = Object.hasOwn(CODE_MAP, err.code) ? CODE_MAP[err.code]! : 'INTERNAL';
  const retry =
    code === 'RATE_LIMITED' || code === 'UNAVAILABLE' || code === 'SANDBOX_BUSY'
      ? { headers: { 'retry-after': '1' } }
      : {};
  return new PlatformError(code, err.message, { cause: err, ...retry });
}

async function mapped<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw fromSandboxdError(err);
  }
}

/** errnos of a connection that never got to the daemon (or was cut before it answered). */
const UNREACHABLE_ERRNOS = new Set(['ECONNREFUSED', 'ENOENT', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EAGAIN']);

/**
 * True when the daemon could not be reached at all (not started, socket gone, crashed, no answer in
 * time). The sandboxd client reports that as `SandboxdError('unreachable')` with the errno in
 * `details.errno` and on `cause`; a raw socket error carries it on `code`.
 */
export function isUnreachable(err: unknown): boolean {
  if (err instanceof SandboxdError) return err.code === 'unreachable';
  const e = err as { code?: unknown; cause?: { code?: unknown } } | undefined;
  return [e?.code, e?.cause?.code].some((c) => typeof c === 'string' && UNREACHABLE_ERRNOS.has(c));
}

/**
 * The fast data plane: processes are spawned by sandboxd inside the sandbox (a few ms), files and
 * archives are streamed without a shell, all as the sandbox user. `fallback` (the engine) runs an exec
 * when the daemon is unreachable.
 */
export class SandboxdDataPlane implements DataPlane {
  readonly kind = 'sandboxd' as const;

  constructor(
    private readonly clientFor: (sandbox: Sandbox) => SandboxdClient,
    private readonly fallback: DataPlane,
  ) {}

  async exec(sandbox: Sandbox, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
    const client = this.clientFor(sandbox);
    let answer: unknown;
    try {
      answer = await client.exec(
        {
          command: spec.argv,
          timeoutMs: spec.timeoutMs,
          maxOutputBytes: spec.maxOutputBytes,
          ...(spec.env ? { env: spec.env } : {}),
          ...(spec.cwd ? { cwd: spec.cwd } : {}),
          ...(spec.stdin
            ? { stdin: Buffer.from(spec.stdin).toString('base64'), stdinEncoding: 'base64' as const }
            : {}),
        },
        signal ? { signal } : {},
      );
    } catch (err) {
      // The daemon is gone (an image it cannot run in, or it crashed): the engine still can exec.
      if (isUnreachable(err)) return this.fallback.exec(sandbox, spec, signal);
      throw fromSandboxdError(err);
    }
    // A daemon that answers, but not in shape, is refused (502), not replaced by the engine.
    const r = execResultFromDaemon(answer);
    return {
      stdout: r.stdout,
      stderr: r.stderr,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      timedOut: r.timedOut,
      truncated: r.truncated,
      ...(r.signal ? { signal: r.signal } : {}),
    };
  }

  stat(sandbox: Sandbox, path: string): Promise<FileInfo> {
    return mapped(async () => fileInfoFromDaemon(await this.clientFor(sandbox).files.stat(path)));
  }

  list(sandbox: Sandbox, path: string): Promise<FileInfo[]> {
    return mapped(async () => fileListFromDaemon(await this.clientFor(sandbox).files.list(path)));
  }

  read(
    sandbox: Sandbox,
    path: string,
    maxBytes: number,
  ): Promise<{ size: number; body: AsyncIterable<Uint8Array> }> {
    return mapped(async () => {
      const { size, stream } = await this.clientFor(sandbox).files.read(path, { maxBytes });
      return { size, body: stream };
    });
  }

  write(sandbox: Sandbox, path: string, body: Uint8Array): Promise<{ bytes: number }> {
    return mapped(async () => ({
      bytes: writtenBytesFromDaemon(await this.clientFor(sandbox).files.write(path, body)),
    }));
  }

  /** Made by sandboxd as the sandbox user; never by the fallback (the engine would read as root). */
  archiveTar(sandbox: Sandbox, path: string, limits: ArchiveLimits): Promise<AsyncIterable<Uint8Array>> {
    return mapped(async () => (await this.clientFor(sandbox).files.archive(path, limits)).stream);
  }
}
