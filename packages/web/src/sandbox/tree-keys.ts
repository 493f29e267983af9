/**
 * Keyboard navigation of the Files tab's tree, the WAI-ARIA tree view pattern: Up/Down move through
 * the visible items, Right opens a closed folder or moves into an open one, Left closes an open
 * folder or moves to the parent, Home/End go to the first/last item, Enter (or Space) opens a file
 * or toggles a folder. Pure: the tab reads the visible rows from the DOM and applies the action.
 */

/** One visible tree item, in display order. */
export interface TreeRow {
  path: string;
  /** 1 for the root (aria-level). */
  level: number;
  isDir: boolean;
  expanded: boolean;
}

export type TreeAction =
  | { kind: 'focus'; path: string }
  | { kind: 'expand'; path: string }
  | { kind: 'collapse'; path: string }
  | { kind: 'activate'; path: string };

export function treeKeyAction(
  rows: readonly TreeRow[],
  current: string,
  key: string,
): TreeAction | undefined {
  const i = rows.findIndex((r) => r.path === current);
  if (i < 0) return rows[0] ? { kind: 'focus', path: rows[0].path } : undefined;
  const row = rows[i]!;
  const to = (r: TreeRow | undefined): TreeAction | undefined =>
    r ? { kind: 'focus', path: r.path } : undefined;
  switch (key) {
    case 'ArrowDown':
      return to(rows[i + 1]);
    case 'ArrowUp':
      return to(rows[i - 1]);
    case 'Home':
      return to(rows[0]);
    case 'End':
      return to(rows[rows.length - 1]);
    case 'ArrowRight':
      if (!row.isDir) return undefined;
      if (!row.expanded) return { kind: 'expand', path: row.path };
      // Into the first child, if the listing has arrived and the folder is not empty.
      return rows[i + 1] && rows[i + 1]!.level > row.level ? to(rows[i + 1]) : undefined;
    case 'ArrowLeft': {
      if (row.isDir && row.expanded) return { kind: 'collapse', path: row.path };
      // The parent: the nearest row above with a smaller level.
      for (let j = i - 1; j >= 0; j--) if (rows[j]!.level < row.level) return to(rows[j]);
      return undefined;
    }
    case 'Enter':
    case ' ':
      return { kind: 'activate', path: row.path };
    default:
      return undefined;
  }
}
