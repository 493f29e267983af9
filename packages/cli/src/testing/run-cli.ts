/** Test support for the CLI: run commands in-process with captured stdio. Not used by the CLI itself. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { deflateRawSync, crc32 } from 'node:zlib';
import type { CliDeps, LocalPlatformModule } from '../context.ts';
import { run } from '../run.ts';
import { eventually } from '@agenttier/testkit';

export class Capture extends Writable {
  chunks: Buffer[] = [];
  isTTY = false;
  override _write(chunk: Buffer | string, _enc: BufferEncoding, done: () => void): void {
    this.chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
    done();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString('utf8');
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export interface RunOpts {
  /** Server URL, sent as AGENTTIER_API_URL. */
  url?: string;
  env?: Record<string, string | undefined>;
  stdin?: string | Buffer;
  cwd?: string;
  homeDir?: string;
  signal?: AbortSignal;
  loadPlatform?: () => Promise<LocalPlatformModule>;
  /** Receives the stdout capture before the command runs, so a test can wait for output mid-run. */
  onStdout?: (capture: Capture) => void;
}

/** A scratch directory that doubles as HOME; `cleanup()` removes it. */
export async function scratch(): Promise<{ dir: string; cleanup(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'agenttier-cli-'));
  return { dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Runs the CLI in-process against `opts.url` and captures everything it writes. */
export async function runCli(argv: string[], opts: RunOpts = {}): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  opts.onStdout?.(stdout);
  const home = opts.homeDir ?? tmpdir();
  const deps: CliDeps = {
    stdout,
    stderr,
    stdin: Readable.from(opts.stdin === undefined ? [] : [Buffer.from(opts.stdin)]),
    env: {
      AGENTTIER_CONFIG: join(home, 'agenttier-test-config-absent.json'),
      AGENTTIER_POLL_INTERVAL_MS: '5',
      ...(opts.url ? { AGENTTIER_API_URL: opts.url } : {}),
      ...opts.env,
    },
    cwd: opts.cwd ?? process.cwd(),
    homeDir: home,
    signal: opts.signal ?? new AbortController().signal,
    ...(opts.loadPlatform ? { loadPlatform: opts.loadPlatform } : {}),
  };
  const code = await run(argv, deps);
  return { code, stdout: stdout.text, stderr: stderr.text, stdoutBytes: Buffer.concat(stdout.chunks) };
}

/** A stdin that tests write to; `tty` makes it look like a terminal (records raw-mode changes). */
export class FakeStdin extends PassThrough {
  isTTY: boolean;
  rawModes: boolean[] = [];
  constructor(tty = false) {
    super();
    this.isTTY = tty;
  }
  setRawMode(mode: boolean): this {
    this.rawModes.push(mode);
    return this;
  }
}

/** A stdout that can pretend to be a terminal of a given size and emit `resize`. */
export class TtyCapture extends Capture {
  columns = 100;
  rows = 30;
  constructor(tty = true) {
    super();
    this.isTTY = tty;
  }
  resizeTo(columns: number, rows: number): void {
    this.columns = columns;
    this.rows = rows;
    this.emit('resize');
  }
}

export interface StartedCli {
  stdout: Capture;
  stderr: Capture;
  stdin: FakeStdin;
  /** Resolves with the exit code. */
  done: Promise<number>;
  /** Like Ctrl-C / SIGTERM. */
  abort(): void;
  /** Waits until stdout or stderr matches. */
  waitFor(re: RegExp, stream?: 'stdout' | 'stderr', timeoutMs?: number): Promise<RegExpMatchArray>;
}

/** Starts a long-running command (port-forward, terminal) in-process; the caller drives and stops it. */
export function startCli(
  argv: string[],
  opts: RunOpts & { tty?: boolean; stdout?: Capture } = {},
): StartedCli {
  const stdout = opts.stdout ?? new Capture();
  const stderr = new Capture();
  const stdin = new FakeStdin(opts.tty ?? false);
  const controller = new AbortController();
  const home = opts.homeDir ?? tmpdir();
  const deps: CliDeps = {
    stdout,
    stderr,
    stdin,
    env: {
      AGENTTIER_CONFIG: join(home, 'agenttier-test-config-absent.json'),
      ...(opts.url ? { AGENTTIER_API_URL: opts.url } : {}),
      ...opts.env,
    },
    cwd: opts.cwd ?? process.cwd(),
    homeDir: home,
    signal: controller.signal,
  };
  const done = run(argv, deps);
  return {
    stdout,
    stderr,
    stdin,
    done,
    abort: () => controller.abort(),
    waitFor(re, stream = 'stderr', timeoutMs = 30_000) {
      const target = stream === 'stdout' ? stdout : stderr;
      return eventually(() => re.exec(target.text) ?? undefined, `${stream} to match ${re}`, {
        timeoutMs,
        intervalMs: 10,
        lastSeen: () => `stdout: ${stdout.text}\nstderr: ${stderr.text}`,
      });
    },
  };
}

export interface ZipInput {
  name: string;
  data?: string | Buffer;
  /** Unix mode including the file type bits; default 0o100644 for files, 0o040755 for directories. */
  mode?: number;
  /** Store instead of deflate. */
  store?: boolean;
  /** Use a data descriptor (sizes after the data), as streaming zip writers do. */
  descriptor?: boolean;
  /** Corrupt the recorded CRC. */
  badCrc?: boolean;
  /** Record this uncompressed size instead of the real one (a lying or bomb-like archive). */
  declaredSize?: number;
}

/** Builds a small zip in memory, the way streaming writers (archiver) lay it out. */
export function makeZip(entries: ZipInput[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const isDir = e.name.endsWith('/');
    const raw = Buffer.from(e.data ?? '');
    const method = isDir || e.store ? 0 : 8;
    const body = method === 8 ? deflateRawSync(raw) : raw;
    const crc = (e.badCrc ? crc32(raw) ^ 1 : crc32(raw)) >>> 0;
    const name = Buffer.from(e.name);
    const flags = 0x0800 | (e.descriptor ? 0x0008 : 0);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt32LE(e.descriptor ? 0 : crc, 14);
    local.writeUInt32LE(e.descriptor ? 0 : body.length, 18);
    const size = e.declaredSize ?? raw.length;
    local.writeUInt32LE(e.descriptor ? 0 : size, 22);
    local.writeUInt16LE(name.length, 26);
    const parts = [local, name, body];
    if (e.descriptor) {
      const dd = Buffer.alloc(16);
      dd.writeUInt32LE(0x08074b50, 0);
      dd.writeUInt32LE(crc, 4);
      dd.writeUInt32LE(body.length, 8);
      dd.writeUInt32LE(size, 12);
      parts.push(dd);
    }
    const localBuf = Buffer.concat(parts);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE((3 << 8) | 20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    const mode = e.mode ?? (isDir ? 0o040755 : 0o100644);
    central.writeUInt32LE(((mode & 0xffff) << 16) >>> 0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(Buffer.concat([central, name]));
    locals.push(localBuf);
    offset += localBuf.length;
  }
  const cd = Buffer.concat(centrals);
  const eocd = Buffer.alloc(22);
  eocd.writeUInt32LE(0x06054b50, 0);
  eocd.writeUInt16LE(entries.length, 8);
  eocd.writeUInt16LE(entries.length, 10);
  eocd.writeUInt32LE(cd.length, 12);
  eocd.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, eocd]);
}
