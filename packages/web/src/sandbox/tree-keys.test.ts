import { describe, expect, it } from 'vitest';
import { treeKeyAction, type TreeRow } from './tree-keys.ts';

// /workspace (open) > src (open) > a.py ; docs (closed) ; README.md
const rows: TreeRow[] = [
  { path: '/workspace', level: 1, isDir: true, expanded: true },
  { path: '/workspace/src', level: 2, isDir: true, expanded: true },
  { path: '/workspace/src/a.py', level: 3, isDir: false, expanded: false },
  { path: '/workspace/docs', level: 2, isDir: true, expanded: false },
  { path: '/workspace/README.md', level: 2, isDir: false, expanded: false },
];
const act = (current: string, key: string) => treeKeyAction(rows, current, key);

describe('tree keys (WAI-ARIA tree view)', () => {
  it('Up/Down move through the visible items and stop at the ends', () => {
    expect(act('/workspace', 'ArrowDown')).toEqual({ kind: 'focus', path: '/workspace/src' });
    expect(act('/workspace/src/a.py', 'ArrowDown')).toEqual({ kind: 'focus', path: '/workspace/docs' });
    expect(act('/workspace/docs', 'ArrowUp')).toEqual({ kind: 'focus', path: '/workspace/src/a.py' });
    expect(act('/workspace/README.md', 'ArrowDown')).toBeUndefined();
    expect(act('/workspace', 'ArrowUp')).toBeUndefined();
  });

  it('Home and End go to the first and last item', () => {
    expect(act('/workspace/docs', 'Home')).toEqual({ kind: 'focus', path: '/workspace' });
    expect(act('/workspace/src', 'End')).toEqual({ kind: 'focus', path: '/workspace/README.md' });
  });

  it('Right opens a closed folder, enters an open one, and does nothing on a file', () => {
    expect(act('/workspace/docs', 'ArrowRight')).toEqual({ kind: 'expand', path: '/workspace/docs' });
    expect(act('/workspace/src', 'ArrowRight')).toEqual({ kind: 'focus', path: '/workspace/src/a.py' });
    expect(act('/workspace/README.md', 'ArrowRight')).toBeUndefined();
    // An open folder whose listing is empty (or not there yet): nowhere to go.
    const empty: TreeRow[] = [
      { path: '/w', level: 1, isDir: true, expanded: true },
      { path: '/w/e', level: 2, isDir: true, expanded: true },
      { path: '/w/f', level: 2, isDir: false, expanded: false },
    ];
    expect(treeKeyAction(empty, '/w/e', 'ArrowRight')).toBeUndefined();
  });

  it('Left closes an open folder, else goes to the parent; the root stays', () => {
    expect(act('/workspace/src', 'ArrowLeft')).toEqual({ kind: 'collapse', path: '/workspace/src' });
    expect(act('/workspace/src/a.py', 'ArrowLeft')).toEqual({ kind: 'focus', path: '/workspace/src' });
    expect(act('/workspace/docs', 'ArrowLeft')).toEqual({ kind: 'focus', path: '/workspace' });
    expect(act('/workspace', 'ArrowLeft')).toEqual({ kind: 'collapse', path: '/workspace' });
  });

  it('Enter and Space activate; other keys are left to the browser', () => {
    expect(act('/workspace/README.md', 'Enter')).toEqual({ kind: 'activate', path: '/workspace/README.md' });
    expect(act('/workspace/docs', ' ')).toEqual({ kind: 'activate', path: '/workspace/docs' });
    expect(act('/workspace/docs', 'Tab')).toBeUndefined();
    expect(act('/workspace/docs', 'a')).toBeUndefined();
  });

  it('an item that is gone moves focus to the first one', () => {
    expect(act('/workspace/deleted', 'ArrowDown')).toEqual({ kind: 'focus', path: '/workspace' });
  });
});
