import { posix } from 'node:path';
import { PlatformError } from '@agenttier/contract';

/** Characters that have no business in a sandbox path: NUL, control characters, backslash. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const FORBIDDEN = /[\u0000-\u001f\u007f\\]/;
export const MAX_PATH_LENGTH = 4096;

/**
 * Validates a client path and confines it to the allowed roots (the workspace and /tmp). `..` segments
 * are refused outright rather than normalised away, so a client never gets a different file than it named.
 * Symlinks are resolved inside the sandbox by sandboxd, which refuses ones that leave the roots.
 */
export function confinePath(raw: string, roots: readonly string[]): string {
  if (raw.length === 0) throw new PlatformError('BAD_REQUEST', 'path is required');
  if (raw.length > MAX_PATH_LENGTH)
    throw new PlatformError('BAD_REQUEST', `path is longer than ${MAX_PATH_LENGTH} characters`);
  if (FORBIDDEN.test(raw))
    throw new PlatformError(
      'BAD_REQUEST',
      'path contains disallowed characters (control characters or backslash)',
    );
  if (!raw.startsWith('/'))
    throw new PlatformError('BAD_REQUEST', `path must be absolute, like /workspace/notes.txt (got "${raw}")`);
  if (raw.split('/').includes('..'))
    throw new PlatformError('BAD_REQUEST', 'path must not contain ".." segments');
  const clean = posix.normalize(raw).replace(/(.)\/+$/, '$1');
  const allowed = roots.some((root) => clean === root || clean.startsWith(`${root}/`));
  if (!allowed) {
    throw new PlatformError(
      'FORBIDDEN',
      `path ${clean} is outside the sandbox's file roots (${roots.join(', ')})`,
    );
  }
  return clean;
}

/** A filename safe for Content-Disposition. */
export function safeFilename(path: string, fallback = 'file'): string {
  const base = posix.basename(path).replace(/[^A-Za-z0-9._-]/g, '_');
  return base && base !== '.' && base !== '..' ? base : fallback;
}
