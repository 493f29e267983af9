import { posix } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Sandbox } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';
import type { DataPlane, ExecOutcome, ExecSpec, FileInfo } from '@agenttier/core';
import { workloadName } from '@agenttier/core';
import type Docker from 'dockerode';
import { SANDBOX_UID, SANDBOXD_TOKEN_ENV } from './container-spec.ts';

/**
 * Engine execs inherit the container's environment, which carries sandboxd's token for the launcher;
 * they run the sandbox's code, so the token is blanked for them (docs/security.md, "sandboxd's socket
 * and token out of the sandbox's reach").
 */
const HIDDEN_ENV = [`${SANDBOXD_TOKEN_ENV}=`];

const TRUNCATED = '\n[output truncated]';

/**
 * How long past its timeout an engine exec may keep the router waiting (its output still open, or its
 * `timeout` wrapper stopped) before the router stops reading and answers `timedOut`.
 */
export const ENGINE_EXEC_GRACE_MS = 5000;

class CappedBuffer {
  private chunks: Buffer[] = [];
  size = 0;
  truncated = false;
  constructor(private readonly max: number) {}
  push(chunk: Buffer) {
    const room = this.max - this.size;
    if (room <= 0) {
      this.truncated = true;
      return;
    }
    const part = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (part.length < chunk.length) this.truncated = true;
    this.chunks.push(part);
    this.size += part.length;
  }
  text() {
    return Buffer.concat(this.chunks).toString('utf8') + (this.truncated ? TRUNCATED : '');
  }
}

const RESOURCE_ERRORS =
  /resource temporarily unavailable|cannot allocate memory|too many open files|cannot fork/i;

/**
 * Why `stat` in the sandbox failed. Only stat's own "no such file" is a 404: a sandbox at its pids or
 * memory limit cannot start `stat` at all, and saying "not found" then sends the user looking for a
 * file that is there.
 */
export function statFailure(path: string, exitCode: number, stderr: string): PlatformError {
  if (/No such file or directory|Not a directory/.test(stderr)) {
    return new PlatformError('FILE_NOT_FOUND', `path not found: ${path}`);
  }
  if (/Permission denied/.test(stderr)) return new PlatformError('FORBIDDEN', `permission denied: ${path}`);
  const why = stderr.trim().split('\n')[0]?.slice(0, 200) || `exit code ${exitCode}`;
  return new PlatformError(
    'SANDBOX_BUSY',
    `cannot look at ${path}: the sandbox could not run \`stat\` (${why}); it may be at its pids or memory limit, retry shortly`,
    { headers: { 'retry-after': '1' } },
  );
}

/**
 * Exec and files through the engine's own API (`docker exec`, the archive endpoints): slower (an exec
 * costs tens of milliseconds of engine work) but needs nothing inside the image.
 */
export class EngineDataPlane implements DataPlane {
  readonly kind = 'engine' as const;
  constructor(private readonly docker: Docker) {}

  private container(sandbox: Sandbox) {
    return this.docker.getContainer(workloadName(sandbox));
  }

  async exec(sandbox: Sandbox, spec: ExecSpec, signal?: AbortSignal): Promise<ExecOutcome> {
    const started = Date.now();
    // coreutils `timeout` runs the command in its own process group and signals the whole group.
    const seconds = Math.max(1, Math.ceil(spec.timeoutMs / 1000));
    const argv = ['timeout', '-s', 'KILL', String(seconds), ...spec.argv];
    const exec = await this.container(sandbox).exec({
      Cmd: argv,
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      Env: [...HIDDEN_ENV, ...Object.entries(spec.env ?? {}).map(([k, v]) => `${k}=${v}`)],
      ...(spec.cwd ? { WorkingDir: spec.cwd } : {}),
      AttachStdout: true,
      AttachStderr: true,
      AttachStdin: spec.stdin !== undefined,
      Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: spec.stdin !== undefined });
    const out = new CappedBuffer(spec.maxOutputBytes);
    const err = new CappedBuffer(spec.maxOutputBytes);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    stdout.on('data', (c: Buffer) => out.push(c));
    stderr.on('data', (c: Buffer) => err.push(c));
    this.docker.modem.demuxStream(stream, stdout, stderr);
    if (spec.stdin !== undefined) {
      stream.write(Buffer.from(spec.stdin));
      (stream as unknown as { end(): void }).end();
    }
    const onAbort = () => stream.destroy();
    signal?.addEventListener('abort', onAbort, { once: true });
    // `timeout` is the sandbox's own process: the command can stop it (`kill -STOP 0` or `$PPID`), and
    // the engine ends the stream only when it exits. The router's wait ends at the deadline anyway.
    let overran = false;
    const deadline = setTimeout(
      () => {
        overran = true;
        stream.destroy();
      },
      seconds * 1000 + ENGINE_EXEC_GRACE_MS,
    );
    await new Promise<void>((resolve) => {
      stream.on('end', resolve);
      stream.on('close', resolve);
      stream.on('error', () => resolve());
    });
    clearTimeout(deadline);
    signal?.removeEventListener('abort', onAbort);
    const info = overran ? undefined : await exec.inspect();
    const code = info?.ExitCode ?? -1;
    const timedOut = overran || (code === 137 && Date.now() - started >= seconds * 1000 - 50);
    return {
      stdout: out.text(),
      stderr: err.text(),
      exitCode: timedOut ? -1 : code,
      durationMs: Date.now() - started,
      timedOut,
      truncated: out.truncated || err.truncated,
    };
  }

  private async run(sandbox: Sandbox, argv: string[]): Promise<ExecOutcome> {
    return this.exec(sandbox, { argv, timeoutMs: 30_000, maxOutputBytes: 16 * 1024 * 1024 });
  }

  async stat(sandbox: Sandbox, path: string): Promise<FileInfo> {
    let r: ExecOutcome;
    try {
      r = await this.run(sandbox, ['stat', '-c', '%F\t%s\t%A\t%Y', path]);
    } catch (err) {
      // The engine could not even start `stat` in the container (runc: EAGAIN at the pids limit).
      if (RESOURCE_ERRORS.test((err as Error).message ?? ''))
        throw statFailure(path, -1, (err as Error).message);
      throw err;
    }
    if (r.exitCode !== 0) throw statFailure(path, r.exitCode, r.stderr);
    const [type = '', size = '0', mode = '', mtime = '0'] = r.stdout.trim().split('\t');
    return {
      name: posix.basename(path),
      path,
      size: Number(size),
      isDir: type === 'directory',
      mode,
      modifiedAt: Number(mtime),
    };
  }

  async list(sandbox: Sandbox, path: string): Promise<FileInfo[]> {
    const st = await this.stat(sandbox, path);
    if (!st.isDir) throw new PlatformError('BAD_REQUEST', `not a directory: ${path}`);
    const r = await this.run(sandbox, [
      'find',
      path,
      '-mindepth',
      '1',
      '-maxdepth',
      '1',
      '-printf',
      '%f\\0%s\\0%y\\0%M\\0%T@\\0%l\\0',
    ]);
    if (r.exitCode !== 0) throw new PlatformError('INTERNAL', `listing failed: ${r.stderr.trim()}`);
    const parts = r.stdout.split('\0');
    const entries: FileInfo[] = [];
    for (let i = 0; i + 5 < parts.length; i += 6) {
      const name = parts[i] ?? '';
      const link = parts[i + 5] ?? '';
      entries.push({
        name,
        path: posix.join(path, name),
        size: Number(parts[i + 1]),
        isDir: parts[i + 2] === 'd',
        mode: parts[i + 3] ?? '',
        modifiedAt: Math.floor(Number(parts[i + 4])),
        ...(link ? { symlinkTarget: link } : {}),
      });
    }
    return entries.sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * Streams a file by running `head` as the sandbox user. Never through the engine's archive
   * endpoint: that reads as root and follows links in the path, so `/workspace/r/etc/shadow` with
   * `r -> /` returned the container's shadow file. As the sandbox user, a link leads only where the
   * sandbox could read anyway.
   */
  async read(
    sandbox: Sandbox,
    path: string,
    maxBytes: number,
  ): Promise<{ size: number; body: AsyncIterable<Uint8Array> }> {
    const st = await this.stat(sandbox, path);
    if (st.isDir)
      throw new PlatformError('BAD_REQUEST', `${path} is a directory; list it or download it as an archive`);
    if (st.size > maxBytes) {
      throw new PlatformError(
        'PAYLOAD_TOO_LARGE',
        `file is ${st.size} bytes, max ${maxBytes}; use the archive endpoint or the terminal`,
      );
    }
    const readable = await this.run(sandbox, ['test', '-f', path, '-a', '-r', path]);
    if (readable.exitCode !== 0)
      throw new PlatformError('FORBIDDEN', `${path} is not a regular file the sandbox user can read`);
    const exec = await this.container(sandbox).exec({
      Cmd: ['head', '-c', String(st.size), '--', path],
      User: `${SANDBOX_UID}:${SANDBOX_UID}`,
      Env: HIDDEN_ENV,
      AttachStdout: true,
      AttachStderr: true,
      Tty: false,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const body = new PassThrough();
    const errors = new PassThrough();
    errors.resume();
    this.docker.modem.demuxStream(stream, body, errors);
    stream.on('end', () => body.end());
    stream.on('error', (e) => body.destroy(e));
    body.on('close', () => stream.destroy());
    return { size: st.size, body };
  }

  /** Writes as the sandbox user (`cat` with the body on stdin): never as root through the engine. */
  async write(sandbox: Sandbox, path: string, body: Uint8Array): Promise<{ bytes: number }> {
    const dir = posix.dirname(path);
    const mk = await this.run(sandbox, ['mkdir', '-p', dir]);
    if (mk.exitCode !== 0)
      throw new PlatformError('BAD_REQUEST', `cannot create ${dir}: ${mk.stderr.trim()}`);
    const r = await this.exec(sandbox, {
      argv: ['sh', '-c', 'cat > "$1"', 'sh', path],
      stdin: body,
      timeoutMs: 300_000,
      maxOutputBytes: 64 * 1024,
    });
    if (r.exitCode !== 0) {
      const why = r.stderr.trim();
      throw new PlatformError(
        /denied|read-only/i.test(why) ? 'FORBIDDEN' : 'BAD_REQUEST',
        `cannot write ${path}: ${why}`,
      );
    }
    return { bytes: body.length };
  }

  /**
   * Refused: the engine's archive endpoint reads as root and follows links in the path, so a sandbox
   * with `ln -s / /workspace/r` got /etc/shadow and the sandboxd token through it. Archives are made
   * by sandboxd, as the sandbox user.
   */
  async archiveTar(sandbox: Sandbox): Promise<AsyncIterable<Uint8Array>> {
    throw new PlatformError(
      'UNAVAILABLE',
      `sandbox ${sandbox.metadata.name} runs without sandboxd; directory archives need it (download files one by one, or tar them with exec)`,
    );
  }
}
