import { lstat, readlink, realpath } from 'node:fs/promises';
import { posix } from 'node:path';

import { SandboxdError } from '../errors.ts';

const MAX_SYMLINK_HOPS = 40;

/** Maps a filesystem errno to a sandboxd error. */
export function fsError(err: unknown, path: string): SandboxdError {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  switch (code) {
    case 'ENOENT':
      return new SandboxdError('not_found', `no such file or directory: ${path}`);
    case 'ENOTDIR':
      return new SandboxdError('not_a_directory', `not a directory: ${path}`);
    case 'EISDIR':
      return new SandboxdError('is_a_directory', `is a directory: ${path}`);
    case 'EEXIST':
      return new SandboxdError('exists', `already exists: ${path}`);
    case 'ENOTEMPTY':
      return new SandboxdError('not_empty', `directory not empty: ${path}`);
    case 'EACCES':
    case 'EPERM':
      return new SandboxdError('permission_denied', `permission denied: ${path}`);
    case 'EROFS':
      return new SandboxdError('permission_denied', `read-only file system: ${path}`);
    case 'ELOOP':
      return new SandboxdError('invalid_path', `too many levels of symbolic links: ${path}`);
    case 'ENAMETOOLONG':
      return new SandboxdError('invalid_path', `file name too long: ${path}`);
    case 'ENOSPC':
    case 'EDQUOT':
      return new SandboxdError('resource_exhausted', `no space left on device: ${path}`);
    case 'EMFILE':
    case 'ENFILE':
    case 'ENOMEM':
    case 'EAGAIN':
      return new SandboxdError(
        'resource_exhausted',
        `${code}: the sandbox is out of descriptors or memory; retry shortly: ${path}`,
        { details: { errno: code } },
      );
    default:
      if (err instanceof SandboxdError) return err;
      return new SandboxdError('internal', `${code ?? 'error'}: ${path}`, { cause: err });
  }
}

function within(path: string, root: string): boolean {
  return root === '/' || path === root || path.startsWith(root + '/');
}

/**
 * Resolves `p` like realpath(3), except that missing trailing components are allowed (they are appended
 * as they are). Dangling symlinks are followed by hand so that creating `link/x` cannot escape through a
 * link that points at a directory that does not exist yet.
 */
export async function resolveExisting(p: string, hops = 0): Promise<string> {
  try {
    return await realpath(p);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') throw err;
  }
  if (p === '/') return '/';
  const parent = await resolveExisting(posix.dirname(p), hops);
  const candidate = posix.join(parent, posix.basename(p));
  let st;
  try {
    st = await lstat(candidate);
  } catch {
    return candidate;
  }
  if (!st.isSymbolicLink()) return candidate;
  if (hops >= MAX_SYMLINK_HOPS) throw Object.assign(new Error('ELOOP'), { code: 'ELOOP' });
  const target = await readlink(candidate);
  return resolveExisting(posix.resolve(parent, target), hops + 1);
}

/** What an open descriptor really is, as the kernel names it (`/proc/self/fd/N`); undefined if /proc cannot say. */
export async function openedPath(fd: number): Promise<string | undefined> {
  try {
    // As the kernel says it: a file removed since it was opened reads "<path> (deleted)", still under
    // its directory; trimming that suffix would make a file really named "x (deleted)" look like "x".
    return await readlink(`/proc/self/fd/${fd}`);
  } catch {
    return undefined;
  }
}

export interface ResolvedPath {
  /** The caller's path, normalised (`..` and `.` removed): what responses show. */
  display: string;
  /** The path to operate on, with symlinks resolved as requested. */
  real: string;
}

/**
 * Confines file operations to allowed roots. Paths must be absolute and free of NUL; `..` is resolved
 * lexically, then symlinks are resolved and the result must still be inside a root (whose own realpath
 * is used, so `/tmp` → `/private/tmp` style roots work).
 */
export class PathPolicy {
  readonly roots: readonly string[];

  constructor(roots: readonly string[]) {
    this.roots = roots.map((r) => posix.resolve(r));
  }

  /** Lexical checks only: absolute, no NUL, inside a root. Returns the normalised path. */
  normalize(input: unknown): string {
    if (typeof input !== 'string' || input.length === 0)
      throw new SandboxdError('invalid_path', 'path is required');
    if (input.includes('\0')) throw new SandboxdError('invalid_path', 'path must not contain NUL');
    if (!input.startsWith('/')) throw new SandboxdError('invalid_path', `path must be absolute: ${input}`);
    const norm = posix.resolve(input);
    if (!this.roots.some((r) => within(norm, r))) {
      throw new SandboxdError(
        'outside_allowed_roots',
        `path is outside the allowed roots (${this.roots.join(', ')}): ${norm}`,
        {
          details: { roots: [...this.roots] },
        },
      );
    }
    return norm;
  }

  /** True when `p` is one of the roots itself (which cannot be removed or renamed). */
  isRoot(p: string): boolean {
    return this.roots.includes(p);
  }

  /**
   * Validates and resolves a path. With `followFinal` the last component is resolved too (read, write,
   * list); without it only the parent is (stat, remove, rename act on a symlink itself).
   */
  async resolve(input: unknown, followFinal: boolean): Promise<ResolvedPath> {
    const display = this.normalize(input);
    let real: string;
    try {
      if (followFinal || this.isRoot(display) || display === '/') real = await resolveExisting(display);
      else real = posix.join(await resolveExisting(posix.dirname(display)), posix.basename(display));
    } catch (err) {
      throw fsError(err, display);
    }
    await this.assertInside(real, display);
    return { display, real };
  }

  /** True when an already-resolved real path is inside a root. */
  async contains(real: string): Promise<boolean> {
    const roots = await this.realRoots();
    return roots.some((r) => within(real, r));
  }

  /**
   * Checks what an open descriptor really is (`/proc/self/fd/N`), against `within` (default: the
   * roots). The path was checked before it was opened, but the sandbox can swap a directory on it for
   * a link between the check and the open (the red team read the container's /etc/passwd through the
   * files API that way, 31 times in 300); the descriptor cannot be swapped. Fails closed when /proc
   * cannot say.
   */
  async assertOpenedInside(fd: number, display: string): Promise<string> {
    const opened = await openedPath(fd);
    if (opened === undefined)
      throw new SandboxdError('outside_allowed_roots', `cannot tell where ${display} leads`);
    if (!(await this.contains(opened))) {
      throw new SandboxdError(
        'outside_allowed_roots',
        `path resolves outside the allowed roots: ${display}`,
        { details: { roots: [...this.roots] } },
      );
    }
    return opened;
  }

  private async assertInside(real: string, display: string): Promise<void> {
    if (!(await this.contains(real))) {
      throw new SandboxdError(
        'outside_allowed_roots',
        `path resolves outside the allowed roots: ${display}`,
        {
          details: { roots: [...this.roots] },
        },
      );
    }
  }

  private async realRoots(): Promise<string[]> {
    const out: string[] = [];
    for (const r of this.roots) {
      try {
        out.push(await realpath(r));
      } catch {
        out.push(r); // not there (yet): nothing under it resolves elsewhere, so the lexical path stands
      }
    }
    return out;
  }
}
