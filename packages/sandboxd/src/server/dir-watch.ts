import { lstatSync, watch as fsWatch } from 'node:fs';
import type { FSWatcher } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { posix } from 'node:path';

import { SandboxdError } from '../errors.ts';

/**
 * How many directory watches (inotify watches) the whole daemon may hold. Shared by every watch
 * request, so many clients or one huge tree cannot exhaust the kernel's per-user inotify limit.
 */
export interface WatchBudget {
  used: number;
  readonly max: number;
}

export interface DirTreeWatchOptions {
  root: string;
  recursive: boolean;
  budget: WatchBudget;
  /** A raw event for `rel` (relative to root; never empty). Called synchronously from the watcher. */
  onRaw(rel: string, kind: 'rename' | 'change'): void;
  /** The watch cannot continue (root gone, budget exhausted while following a new directory). */
  onError(err: unknown): void;
}

interface Armed {
  watcher: FSWatcher;
  ino: number;
}

/**
 * Watches a directory tree with one non-recursive watch per directory.
 *
 * Why not Node's `fs.watch(dir, {recursive: true})`: on Linux it follows files by inode, so a file
 * replaced by rename (how the file API writes: temp file + rename) stops being reported in
 * subdirectories. A directory watch reports modifications of whatever entry currently has a name
 * in it, so replacing a file changes nothing. Directories appearing later (mkdir, rename into the
 * tree) are armed when their `rename` event arrives, and entries already inside them are reported
 * as created, since they may have been made before the watch was armed.
 */
export async function watchDirTree(opts: DirTreeWatchOptions): Promise<{ close(): void }> {
  const { root, recursive, budget } = opts;
  const armed = new Map<string, Armed>();
  let closed = false;

  const disarm = (prefix: string): void => {
    for (const [rel, a] of armed) {
      if (rel === prefix || prefix === '' || rel.startsWith(`${prefix}/`)) {
        a.watcher.close();
        armed.delete(rel);
        budget.used--;
      }
    }
  };

  const closeAll = (): void => {
    closed = true;
    for (const a of armed.values()) a.watcher.close();
    budget.used -= armed.size;
    armed.clear();
  };

  /** Watches `rel` and (recursive) the directories below it; `announce` reports their entries. */
  const arm = async (rel: string, announce: boolean): Promise<void> => {
    if (closed) return;
    const abs = rel ? posix.join(root, rel) : root;
    let st;
    try {
      st = await lstat(abs);
    } catch (err) {
      if (rel === '') throw err;
      return; // gone again before we got to it: its deletion is reported by the parent
    }
    if (closed || !st.isDirectory()) return;
    const prev = armed.get(rel);
    if (prev && prev.ino === st.ino) return;
    if (prev) disarm(rel); // another directory now has this name
    if (budget.used >= budget.max) {
      throw new SandboxdError(
        'resource_exhausted',
        `too many watched directories (the daemon-wide cap is ${budget.max}); watch a smaller subtree`,
      );
    }
    let watcher: FSWatcher;
    try {
      watcher = fsWatch(abs, { persistent: false }, (event, filename) => {
        if (closed || filename === null) return;
        // inotify reports the watched directory itself moving or going away as `rename` of its own
        // name; that is not an entry inside it (the parent's watch reports the move).
        if (
          event === 'rename' &&
          rel !== '' &&
          filename.toString() === posix.basename(abs) &&
          !sameDir(abs, st.ino)
        )
          return;
        const child = rel ? `${rel}/${filename.toString()}` : filename.toString();
        opts.onRaw(child, event === 'rename' ? 'rename' : 'change');
        if (event === 'rename' && recursive) follow(child);
      });
    } catch (err) {
      if (rel === '') throw err;
      return;
    }
    budget.used++;
    armed.set(rel, { watcher, ino: st.ino });
    watcher.on('error', (err) => {
      if (closed) return;
      if (rel === '') opts.onError(err);
      else disarm(rel); // that directory went away; the parent reports it
    });
    if (!recursive) return;
    let entries;
    try {
      entries = await readdir(abs, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const child = rel ? `${rel}/${e.name}` : e.name;
      if (announce && !closed) opts.onRaw(child, 'rename');
      // Symlinked directories are not followed: they may point outside the allowed roots.
      if (e.isDirectory()) await arm(child, announce);
    }
  };

  /** A name appeared, disappeared or was replaced: arm, re-arm or drop watches below it. */
  const follow = (rel: string): void => {
    lstat(posix.join(root, rel)).then(
      (st) => {
        if (st.isDirectory()) arm(rel, true).catch((err: unknown) => !closed && opts.onError(err));
        else disarm(rel);
      },
      () => disarm(rel),
    );
  };

  try {
    await arm('', false);
  } catch (err) {
    closeAll();
    throw err;
  }
  return { close: closeAll };
}

/** Whether `abs` still is the directory with inode `ino` (synchronous: decided inside the event). */
function sameDir(abs: string, ino: number): boolean {
  try {
    return lstatSync(abs).ino === ino;
  } catch {
    return false;
  }
}
