/** What the editor may open, and in which language mode. */

/** Files larger than this open read-only elsewhere: a browser editor is not the place for them. */
export const MAX_EDIT_BYTES = 1024 * 1024;

export type EditorLanguage = 'javascript' | 'typescript' | 'python' | 'json' | 'markdown' | 'yaml' | 'plain';

export function languageFor(path: string): EditorLanguage {
  const ext = /\.([A-Za-z0-9]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  if (['js', 'mjs', 'cjs', 'jsx'].includes(ext)) return 'javascript';
  if (['ts', 'mts', 'cts', 'tsx'].includes(ext)) return 'typescript';
  if (ext === 'py') return 'python';
  if (ext === 'json') return 'json';
  if (['md', 'markdown'].includes(ext)) return 'markdown';
  if (['yaml', 'yml'].includes(ext)) return 'yaml';
  return 'plain';
}

/** Text unless it has a NUL byte or is not UTF-8 in its first 8 KiB. */
export function looksBinary(bytes: Uint8Array): boolean {
  const head = bytes.subarray(0, 8192);
  if (head.includes(0)) return true;
  try {
    // A multi-byte character cut at the 8 KiB boundary is not a reason to call it binary.
    new TextDecoder('utf-8', { fatal: true }).decode(
      head.length === bytes.length ? head : head.subarray(0, head.length - 4),
    );
    return false;
  } catch {
    return true;
  }
}

/** Why a file cannot be edited here, or undefined when it can. */
export function editRefusal(size: number): string | undefined {
  if (size > MAX_EDIT_BYTES) {
    const mib = (size / 1024 / 1024).toFixed(1);
    return `This file is ${mib} MiB; the editor opens files up to 1 MiB. Download it to view or change it, or edit it in the terminal.`;
  }
  return undefined;
}
