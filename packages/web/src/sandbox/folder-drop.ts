/**
 * What a drop on the Files tab holds, folders included: the browser hands a dropped folder over as a
 * FileSystemDirectoryEntry (`DataTransferItem.webkitGetAsEntry()`), whose tree is walked here into
 * files with their paths relative to the drop, and the folders (so empty ones are created too).
 *
 * The walk stops at the caps before anything is uploaded, so a drop of a huge tree (a home folder,
 * node_modules) is refused as a whole with what to do, not half-uploaded.
 */

/** The parts of the File and Directory Entries API used here (so tests can hand in fakes). */
export interface DropEntry {
  readonly isFile: boolean;
  readonly isDirectory: boolean;
  readonly name: string;
}
export interface DropFileEntry extends DropEntry {
  file(onFile: (f: File) => void, onError?: (err: unknown) => void): void;
}
export interface DropDirectoryEntry extends DropEntry {
  createReader(): {
    readEntries(onEntries: (entries: DropEntry[]) => void, onError?: (err: unknown) => void): void;
  };
}

export interface DropLimits {
  /** Files in one drop. */
  maxFiles: number;
  /** Bytes of all files in one drop. */
  maxTotalBytes: number;
  /** Folder nesting below the dropped folder (also stops a link loop the browser follows). */
  maxDepth: number;
}

export const DROP_LIMITS: DropLimits = { maxFiles: 1000, maxTotalBytes: 512 * 1024 * 1024, maxDepth: 32 };

export interface DroppedTree {
  /** Relative paths (`proj/src/a.py`) with their contents. */
  files: Array<{ path: string; file: File }>;
  /** Relative folder paths, parents before children. */
  dirs: string[];
  totalBytes: number;
}

/** A drop refused as a whole; the message says what to do instead. */
export class DropRefused extends Error {}

const MIB = 1024 * 1024;

function badName(name: string): boolean {
  // eslint-disable-next-line no-control-regex -- control characters are what the file API refuses
  return name === '' || name === '.' || name === '..' || /[/\\\u0000-\u001f\u007f]/.test(name);
}

function readAllEntries(dir: DropDirectoryEntry): Promise<DropEntry[]> {
  // readEntries answers in batches (Chromium: 100) until it answers an empty one.
  const reader = dir.createReader();
  const all: DropEntry[] = [];
  return new Promise((resolve, reject) => {
    const next = (): void =>
      reader.readEntries((batch) => {
        if (batch.length === 0) return resolve(all);
        all.push(...batch);
        next();
      }, reject);
    next();
  });
}

function fileOf(entry: DropFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

/** Walks the dropped entries (files and folders) into a tree, within `limits`. */
export async function walkDrop(
  entries: readonly DropEntry[],
  limits: DropLimits = DROP_LIMITS,
): Promise<DroppedTree> {
  const tree: DroppedTree = { files: [], dirs: [], totalBytes: 0 };
  const visit = async (entry: DropEntry, parent: string, depth: number): Promise<void> => {
    if (badName(entry.name))
      throw new DropRefused(
        `“${parent}${entry.name}” has a name the sandbox's file API refuses (control characters or “\\”): rename it and drop again.`,
      );
    const path = `${parent}${entry.name}`;
    if (entry.isDirectory) {
      if (depth > limits.maxDepth)
        throw new DropRefused(
          `“${path}” is nested more than ${limits.maxDepth} folders deep (or a link loops): drop a smaller folder, or upload a zip and unpack it in the terminal.`,
        );
      tree.dirs.push(path);
      for (const child of await readAllEntries(entry as DropDirectoryEntry))
        await visit(child, `${path}/`, depth + 1);
    } else if (entry.isFile) {
      if (tree.files.length >= limits.maxFiles)
        throw new DropRefused(
          `This drop has more than ${limits.maxFiles} files: drop fewer at a time, or upload a zip and unpack it in the terminal.`,
        );
      const file = await fileOf(entry as DropFileEntry);
      tree.totalBytes += file.size;
      if (tree.totalBytes > limits.maxTotalBytes)
        throw new DropRefused(
          `This drop is over ${Math.round(limits.maxTotalBytes / MIB)} MiB in total: drop fewer files at a time, or copy large data in another way (e.g. download it inside the sandbox).`,
        );
      tree.files.push({ path, file });
    }
  };
  for (const entry of entries) await visit(entry, '', 0);
  return tree;
}

/**
 * The entries of a drop: folders and files through `webkitGetAsEntry` where the browser offers it
 * (it must be called during the drop event, before any await), else the plain file list.
 */
export function entriesOfDrop(data: DataTransfer): DropEntry[] | undefined {
  const items = [...data.items].filter((i) => i.kind === 'file');
  if (items.length === 0 || typeof items[0]!.webkitGetAsEntry !== 'function') return undefined;
  const entries = items.map((i) => i.webkitGetAsEntry()).filter((e): e is FileSystemEntry => e !== null);
  return entries.length > 0 ? entries : undefined;
}
