/**
 * Directory archives, made inside the sandbox as the sandbox user with the same confinement as every
 * other file call: the directory is resolved by the {@link PathPolicy} (a link out of the roots is
 * refused), the walk never follows a link (links are recorded as links), special files (FIFOs,
 * sockets, devices) are left out, and each file is opened with O_NOFOLLOW | O_NONBLOCK and checked to
 * still be a regular file. The whole tree is listed first, so a directory over the caps is refused
 * with `too_large` before a byte is sent.
 *
 * The output is a POSIX tar (ustar headers, pax records for long names) that the router turns into
 * a zip; the router checks it again, since a replaced daemon can send anything.
 */
import { constants as fsConstants } from 'node:fs';
import { lstat, open, readdir, readlink } from 'node:fs/promises';
import { posix } from 'node:path';
import { Readable } from 'node:stream';

import { SandboxdError } from '../errors.ts';
import { fsError, openedPath } from './paths.ts';
import type { PathPolicy } from './paths.ts';

export interface ArchiveLimits {
  /** Sum of the sizes of the files archived. */
  maxBytes: number;
  /** Files, directories and links archived. */
  maxEntries: number;
}

type Planned =
  | { type: 'dir'; name: string; mode: number; mtime: Date }
  | { type: 'file'; name: string; real: string; size: number; mode: number; mtime: Date; ino: number }
  | { type: 'symlink'; name: string; target: string; mtime: Date };

export interface ArchivePlan {
  /** The archived directory as the caller named it (normalised). */
  path: string;
  entries: Planned[];
  /** Bytes of file content the archive will carry. */
  bytes: number;
  /** Entries left out: special files, unreadable or vanished ones. */
  skipped: number;
}

const BLOCK = 512;
const READ_CHUNK = 64 * 1024;

function tooLarge(what: string, limits: ArchiveLimits, display: string): SandboxdError {
  return new SandboxdError('too_large', `${display} has more than ${what}; archive a smaller directory`, {
    details: { maxBytes: limits.maxBytes, maxEntries: limits.maxEntries },
  });
}

/** Lists what an archive of `path` will hold, refusing links out of the roots and trees over the caps. */
export async function planArchive(
  policy: PathPolicy,
  path: unknown,
  limits: ArchiveLimits,
): Promise<ArchivePlan> {
  const { display, real } = await policy.resolve(path, true);
  let st;
  try {
    st = await lstat(real);
  } catch (err) {
    throw fsError(err, display);
  }
  if (!st.isDirectory()) throw new SandboxdError('not_a_directory', `not a directory: ${display}`);
  const top = posix.basename(display) || 'root';
  const plan: ArchivePlan = { path: display, entries: [], bytes: 0, skipped: 0 };
  const add = (e: Planned): void => {
    if (plan.entries.length >= limits.maxEntries)
      throw tooLarge(`${limits.maxEntries} entries`, limits, display);
    plan.entries.push(e);
  };
  add({ type: 'dir', name: top, mode: st.mode & 0o7777, mtime: st.mtime });
  const walk = async (dirReal: string, dirName: string): Promise<void> => {
    let names: string[];
    // Each directory is opened, checked to be what it should be (a directory on the path may have been
    // swapped for a link since it was listed) and read through its descriptor.
    let dir;
    try {
      dir = await open(dirReal, fsConstants.O_RDONLY | fsConstants.O_DIRECTORY | fsConstants.O_NOFOLLOW);
    } catch {
      plan.skipped++; // unreadable or replaced meanwhile: left out, like any unreadable file
      return;
    }
    try {
      if ((await openedPath(dir.fd)) !== dirReal) {
        plan.skipped++;
        return;
      }
      names = (await readdir(`/proc/self/fd/${dir.fd}`)).sort();
    } catch {
      plan.skipped++;
      return;
    } finally {
      await dir.close().catch(() => undefined);
    }
    for (const n of names) {
      const childReal = posix.join(dirReal, n);
      const name = `${dirName}/${n}`;
      let cst;
      try {
        cst = await lstat(childReal); // lstat: a link is recorded, never followed
      } catch {
        plan.skipped++;
        continue;
      }
      if (cst.isDirectory()) {
        add({ type: 'dir', name, mode: cst.mode & 0o7777, mtime: cst.mtime });
        await walk(childReal, name);
      } else if (cst.isFile()) {
        plan.bytes += cst.size;
        if (plan.bytes > limits.maxBytes)
          throw tooLarge(`${limits.maxBytes} bytes of files`, limits, display);
        add({
          type: 'file',
          name,
          real: childReal,
          size: cst.size,
          mode: cst.mode & 0o7777,
          mtime: cst.mtime,
          ino: cst.ino,
        });
      } else if (cst.isSymbolicLink()) {
        try {
          add({ type: 'symlink', name, target: await readlink(childReal), mtime: cst.mtime });
        } catch (err) {
          if (err instanceof SandboxdError) throw err;
          plan.skipped++;
        }
      } else plan.skipped++; // FIFO, socket, device: never archived (and never opened)
    }
  };
  await walk(real, top);
  return plan;
}

function octal(buf: Buffer, value: number, offset: number, length: number): void {
  buf.write(value.toString(8).padStart(length - 1, '0'), offset, length - 1, 'ascii');
}

function ustar(
  name: string,
  type: '0' | '2' | '5' | 'x',
  size: number,
  mode: number,
  mtime: Date,
  link = '',
) {
  const h = Buffer.alloc(BLOCK);
  h.write(name, 0, 100, 'utf8');
  octal(h, mode, 100, 8);
  octal(h, 0, 108, 8);
  octal(h, 0, 116, 8);
  octal(h, size, 124, 12);
  octal(h, Math.max(0, Math.floor(mtime.getTime() / 1000)), 136, 12);
  h.write(type, 156, 1, 'ascii');
  h.write(link, 157, 100, 'utf8');
  h.write('ustar\u000000', 257, 8, 'ascii');
  h.fill(' ', 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  h.write(`${sum.toString(8).padStart(6, '0')}\u0000 `, 148, 8, 'ascii');
  return h;
}

function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** A pax record `"<len> key=value\n"`, where len counts the whole record including its own digits. */
function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len++;
  return `${len}${body}`;
}

/** Headers for one entry: a pax header first when a name or link target does not fit ustar. */
function headers(name: string, type: '0' | '2' | '5', size: number, mode: number, mtime: Date, link = '') {
  const records =
    (Buffer.byteLength(name) > 99 ? paxRecord('path', name) : '') +
    (Buffer.byteLength(link) > 99 ? paxRecord('linkpath', link) : '');
  const main = ustar(name, type, size, mode, mtime, link);
  if (!records) return [main];
  const pax = Buffer.from(records, 'utf8');
  return [ustar('PaxHeader', 'x', pax.length, 0o644, mtime), pax, padding(pax.length), main];
}

/**
 * The tar of a plan. A file is opened without following links and must still be the regular file
 * that was listed; one that is not (replaced, unreadable) is left out. A file that shrank is padded
 * with zeros and one that grew is cut, so the archive carries exactly the listed bytes.
 */
export function archiveStream(plan: ArchivePlan): Readable {
  async function* generate(): AsyncGenerator<Buffer> {
    for (const e of plan.entries) {
      if (e.type === 'dir') {
        yield* headers(`${e.name}/`, '5', 0, e.mode, e.mtime);
        continue;
      }
      if (e.type === 'symlink') {
        yield* headers(e.name, '2', 0, 0o777, e.mtime, e.target);
        continue;
      }
      let fh;
      try {
        fh = await open(e.real, fsConstants.O_RDONLY | fsConstants.O_NOFOLLOW | fsConstants.O_NONBLOCK);
      } catch {
        continue; // gone, unreadable (a hard link to a file the sandbox user may not read), or a link now
      }
      try {
        const st = await fh.stat();
        if (!st.isFile() || st.ino !== e.ino) continue;
        // The file as opened must be the one listed, inside the archived directory (see walk).
        if ((await openedPath(fh.fd)) !== e.real) continue;
        yield* headers(e.name, '0', e.size, e.mode, e.mtime);
        let sent = 0;
        while (sent < e.size) {
          const want = Math.min(READ_CHUNK, e.size - sent);
          const { bytesRead, buffer } = await fh.read(Buffer.alloc(want), 0, want, sent);
          if (bytesRead === 0) break;
          sent += bytesRead;
          yield buffer.subarray(0, bytesRead);
        }
        if (sent < e.size) yield Buffer.alloc(e.size - sent);
        yield padding(e.size);
      } finally {
        await fh.close();
      }
    }
    yield Buffer.alloc(BLOCK * 2);
  }
  return Readable.from(generate(), { objectMode: false });
}
