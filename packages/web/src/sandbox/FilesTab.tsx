import type { FileEntry, Sandbox } from '@agenttier/sdk';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { lazy, Suspense, useEffect, useMemo, useRef, useState } from 'react';
import type { DragEvent, FormEvent, KeyboardEvent, ReactNode } from 'react';
import { useClient } from '../auth/session.tsx';
import { ConfirmDialog } from '../app/ConfirmDialog.tsx';
import { adviseError } from './error-advice.ts';
import { ErrorNote } from './ErrorNote.tsx';
import { editRefusal, languageFor, looksBinary } from './file-kinds.ts';
import { watchFiles, type WatchStatus } from './file-watch.ts';
import { DropRefused, entriesOfDrop, walkDrop, type DropEntry } from './folder-drop.ts';
import { FormProblem, Waiting } from './parts/form-parts.tsx';
import { isRunning, NotRunning } from './NotRunning.tsx';
import type { SandboxTabProps } from './tabs.ts';
import { treeKeyAction, type TreeRow } from './tree-keys.ts';
import {
  archiveUrl,
  downloadWithProgress,
  fileUrl,
  formatBytes,
  saveBlob,
  uploadFile,
  type Progress,
  type TransferTarget,
} from './transfer.ts';
import { UploadQueue, type UploadItem } from './upload-queue.ts';
import { sbxKeys, useSandboxHandle } from './use-sandbox-handle.ts';
import './sandbox-tabs.css';

const CodeEditor = lazy(() => import('./CodeEditor.tsx'));

const ROOT = '/workspace';
const ROOT_ENTRY: FileEntry = {
  name: 'workspace',
  path: ROOT,
  isDir: true,
  size: 0,
  mode: '',
  modifiedAt: 0,
};

function joinPath(dir: string, name: string): string {
  return `${dir.replace(/\/+$/, '')}/${name}`;
}

/** Names the file API accepts as one path segment. */
function nameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'Enter a name.';
  if (name.includes('/')) return 'A name cannot contain “/”.';
  // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(name)) return 'A name cannot contain control characters or “\\”.';
  return undefined;
}

type Dialog =
  | { kind: 'delete'; entry: FileEntry }
  | { kind: 'rename'; entry: FileEntry }
  | { kind: 'create'; dir: string; isDir: boolean };

/** Files tab: the workspace tree, an editor, uploads by drag and drop, downloads, and changes live. */
export default function FilesTab({ sandbox }: SandboxTabProps): ReactNode {
  if (!isRunning(sandbox)) return <NotRunning sandbox={sandbox} what="the files" />;
  return <Files sandbox={sandbox} />;
}

function Files({ sandbox }: SandboxTabProps): ReactNode {
  const handle = useSandboxHandle(sandbox);
  const client = useClient();
  const qc = useQueryClient();
  const target: TransferTarget = useMemo(
    () => ({ client, sandbox: sandbox.name, namespace: sandbox.namespace }),
    [client, sandbox.name, sandbox.namespace],
  );
  const [selectedDir, setSelectedDir] = useState(ROOT);
  const [openFile, setOpenFile] = useState<FileEntry | undefined>(undefined);
  const [dialog, setDialog] = useState<Dialog | undefined>(undefined);
  const [actionError, setActionError] = useState<unknown>(undefined);
  const [watch, setWatch] = useState<WatchStatus>({ kind: 'connecting' });
  /** Bumped when the watch reports a change to the open file; the editor then compares contents. */
  const [openFileChanges, setOpenFileChanges] = useState(0);
  const [download, setDownload] = useState<{ what: string; progress: Progress } | undefined>(undefined);
  const [dragging, setDragging] = useState(false);
  const openPath = useRef<string | undefined>(undefined);
  openPath.current = openFile?.path;
  const [expanded, setExpanded] = useState<ReadonlySet<string>>(() => new Set([ROOT]));
  /** The tree item that has the roving tabindex (and is selected: selection follows focus). */
  const [active, setActive] = useState<FileEntry>(ROOT_ENTRY);
  const activePath = active.path;
  const treeRef = useRef<HTMLUListElement>(null);
  const [dropProblem, setDropProblem] = useState<string | undefined>(undefined);
  const [dropStatus, setDropStatus] = useState<string | undefined>(undefined);

  const refreshDir = (dir: string): void => {
    void qc.invalidateQueries({ queryKey: sbxKeys.dir(sandbox.namespace, sandbox.name, dir) });
  };
  const refreshAll = (): void => {
    void qc.invalidateQueries({ queryKey: sbxKeys.dirs(sandbox.namespace, sandbox.name) });
  };

  // Live refresh: changed directories are re-listed; an open file changed elsewhere is flagged.
  useEffect(
    () =>
      watchFiles(handle.files, {
        root: ROOT,
        onStatus: setWatch,
        onFileChange: (path) => {
          if (path === openPath.current) setOpenFileChanges((n) => n + 1);
        },
        onChange: (dirs) => {
          if (dirs === 'all') {
            void qc.invalidateQueries({ queryKey: sbxKeys.dirs(sandbox.namespace, sandbox.name) });
            return;
          }
          for (const d of dirs) {
            void qc.invalidateQueries({ queryKey: sbxKeys.dir(sandbox.namespace, sandbox.name, d) });
          }
        },
      }),
    [handle, qc, sandbox.namespace, sandbox.name],
  );

  const [queue] = useState(
    () =>
      new UploadQueue(
        (path, body, opts) => uploadFile(target, path, body, opts),
        (path) => refreshDir(path.slice(0, path.lastIndexOf('/')) || '/'),
      ),
  );
  const [uploads, setUploads] = useState<readonly UploadItem[]>(queue.snapshot);
  useEffect(() => queue.subscribe(setUploads), [queue]);

  const addFiles = (list: FileList | null | undefined, dir: string): void => {
    if (!list || list.length === 0) return;
    queue.add(
      [...list].map((f) => ({ name: f.name, blob: f })),
      dir,
    );
  };

  const onDrop = (e: DragEvent): void => {
    e.preventDefault();
    setDragging(false);
    setDropProblem(undefined);
    // Entries must be taken during the event: the DataTransfer is emptied once it returns.
    const entries = entriesOfDrop(e.dataTransfer);
    if (!entries || entries.every((en) => en.isFile)) {
      addFiles(e.dataTransfer.files, selectedDir);
      return;
    }
    const dir = selectedDir;
    void uploadDroppedTree(entries, dir);
  };

  /** A drop with folders: walked within the caps first, then its folders made and its files queued. */
  const uploadDroppedTree = async (entries: DropEntry[], dir: string): Promise<void> => {
    setDropStatus('Reading the dropped folders…');
    try {
      const tree = await walkDrop(entries);
      setDropStatus(`Creating ${tree.dirs.length} folder(s) in ${dir}…`);
      for (const d of tree.dirs) await handle.files.mkdir(joinPath(dir, d), { parents: true });
      refreshAll();
      queue.add(
        tree.files.map((f) => ({ name: f.path, blob: f.file })),
        dir,
      );
      setDropStatus(undefined);
    } catch (err) {
      setDropStatus(undefined);
      if (err instanceof DropRefused) setDropProblem(err.message);
      else setActionError(err);
    }
  };

  const toggle = (path: string, open: boolean): void =>
    setExpanded((prev) => {
      const next = new Set(prev);
      if (open) next.add(path);
      else next.delete(path);
      return next;
    });

  /** Moves the roving focus to the item of `path` (selection follows: a folder becomes the target). */
  const focusItem = (path: string): void => {
    const el = treeRef.current?.querySelector<HTMLElement>(
      `[role="treeitem"][data-path="${CSS.escape(path)}"]`,
    );
    if (!el) return;
    const entry = entryOf(el);
    setActive(entry);
    if (entry.isDir) setSelectedDir(path);
    el.focus();
  };

  const activate = (entry: FileEntry): void => {
    setActive(entry);
    if (entry.isDir) {
      toggle(entry.path, !expanded.has(entry.path) || selectedDir !== entry.path);
      setSelectedDir(entry.path);
    } else setOpenFile(entry);
  };

  const onTreeKey = (e: KeyboardEvent<HTMLUListElement>): void => {
    const item = e.target as HTMLElement;
    if (item.getAttribute('role') !== 'treeitem' || e.altKey || e.ctrlKey || e.metaKey) return;
    const rows = [...e.currentTarget.querySelectorAll<HTMLElement>('[role="treeitem"]')].map(rowOf);
    const current = item.dataset.path ?? ROOT;
    const entry = entryOf(item);
    if ((e.key === 'Delete' || e.key === 'F2') && current !== ROOT) {
      e.preventDefault();
      setDialog({ kind: e.key === 'Delete' ? 'delete' : 'rename', entry });
      return;
    }
    const action = treeKeyAction(rows, current, e.key);
    if (!action) return;
    e.preventDefault();
    if (action.kind === 'focus') focusItem(action.path);
    else if (action.kind === 'expand') toggle(action.path, true);
    else if (action.kind === 'collapse') toggle(action.path, false);
    else activate(entry);
  };

  // An item that vanished (deleted, renamed) cannot keep the tab stop: the root takes it back.
  useEffect(() => {
    if (treeRef.current && !treeRef.current.querySelector('[role="treeitem"][tabindex="0"]'))
      setActive(ROOT_ENTRY);
  });

  const runDownload = async (what: string, url: string, fallbackName: string): Promise<void> => {
    setActionError(undefined);
    setDownload({ what, progress: { loaded: 0, total: 0 } });
    try {
      const { blob, filename } = await downloadWithProgress(target, url, {
        what,
        onProgress: (progress) => setDownload({ what, progress }),
      });
      saveBlob(blob, filename ?? fallbackName);
    } catch (err) {
      setActionError(err);
    } finally {
      setDownload(undefined);
    }
  };

  const downloadEntry = (entry: FileEntry): void => {
    if (entry.isDir) {
      void runDownload(
        `${entry.path} as zip`,
        archiveUrl(target, entry.path),
        `${sandbox.name}-${entry.name}.zip`,
      );
    } else {
      void runDownload(entry.path, fileUrl(target, entry.path), entry.name);
    }
  };

  return (
    <div
      className={`sbx-files${dragging ? ' sbx-dragging' : ''}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={(e) => {
        if (e.currentTarget === e.target) setDragging(false);
      }}
      onDrop={onDrop}
    >
      <div className="sbx-files-side stack">
        <div className="row spread wrap">
          <p role="status" className="muted small" data-watch={watch.kind}>
            {watch.kind === 'live'
              ? 'Live: changes in the sandbox show here.'
              : watch.kind === 'off'
                ? `Live updates off: ${watch.reason} ${watch.next}`
                : watch.kind === 'retrying'
                  ? `Live updates interrupted, reconnecting (attempt ${watch.attempt})…`
                  : 'Connecting live updates…'}
          </p>
          <button type="button" onClick={refreshAll}>
            Refresh
          </button>
        </div>
        <div className="row wrap">
          <span className="small">
            Folder: <code>{selectedDir}</code>
          </span>
          <button type="button" onClick={() => setDialog({ kind: 'create', dir: selectedDir, isDir: false })}>
            New file
          </button>
          <button type="button" onClick={() => setDialog({ kind: 'create', dir: selectedDir, isDir: true })}>
            New folder
          </button>
          <label className="sbx-file-button">
            Upload files…
            <input
              type="file"
              multiple
              className="visually-hidden"
              onChange={(e) => {
                addFiles(e.target.files, selectedDir);
                e.target.value = '';
              }}
            />
          </label>
        </div>
        <p className="muted small" id="sbx-tree-help">
          Or drop files or folders anywhere on this tab to upload them into the selected folder. In the tree:
          arrow keys move, Right/Left open and close folders, Enter opens, Delete deletes, F2 renames, Tab
          goes to the selected item's buttons.
        </p>
        {dropStatus ? <Waiting>{dropStatus}</Waiting> : null}
        <FormProblem text={dropProblem} />
        <ul
          ref={treeRef}
          role="tree"
          className="sbx-tree"
          aria-label="Workspace files"
          aria-describedby="sbx-tree-help"
          onKeyDown={onTreeKey}
        >
          <DirNode
            entry={ROOT_ENTRY}
            sandbox={handle}
            ns={sandbox.namespace}
            depth={0}
            selectedDir={selectedDir}
            openPath={openFile?.path}
            activePath={activePath}
            expanded={expanded}
            onFocusItem={setActive}
            onActivate={activate}
            onDownload={downloadEntry}
            onRename={(entry) => setDialog({ kind: 'rename', entry })}
            onDelete={(entry) => setDialog({ kind: 'delete', entry })}
          />
        </ul>
        <div className="row wrap sbx-selected" role="group" aria-label="Selected item">
          <span className="small">
            Selected: <code>{active.path}</code>
          </span>
          <EntryActions
            entry={active}
            isRoot={active.path === ROOT}
            onDownload={downloadEntry}
            onRename={(entry) => setDialog({ kind: 'rename', entry })}
            onDelete={(entry) => setDialog({ kind: 'delete', entry })}
          />
        </div>
        {download ? (
          <TransferBar label={`Downloading ${download.what}`} progress={download.progress} />
        ) : null}
        <UploadList
          items={uploads}
          onCancel={(id) => queue.cancel(id)}
          onClear={() => queue.clearFinished()}
          overall={queue.overall}
        />
        {actionError ? <ErrorNote error={actionError} /> : null}
      </div>
      <div className="sbx-files-main">
        {openFile ? (
          <FileEditorPane
            key={openFile.path}
            entry={openFile}
            sandbox={handle}
            changes={openFileChanges}
            onDownload={() => downloadEntry(openFile)}
            onSaved={() => refreshDir(openFile.path.slice(0, openFile.path.lastIndexOf('/')) || '/')}
            onClose={() => setOpenFile(undefined)}
          />
        ) : (
          <p className="muted">Choose a file to open it. Text files up to 1 MiB open in the editor.</p>
        )}
      </div>
      {dialog ? (
        <EntryDialog
          dialog={dialog}
          sandbox={handle}
          onDone={(changedDir, opened) => {
            setDialog(undefined);
            refreshDir(changedDir);
            if (opened) setOpenFile(opened);
            if (dialog.kind !== 'create' && openFile && openFile.path.startsWith(dialog.entry.path))
              setOpenFile(undefined);
          }}
          onCancel={() => setDialog(undefined)}
        />
      ) : null}
    </div>
  );
}

function TransferBar({ label, progress }: { label: string; progress: Progress }): ReactNode {
  const pct = progress.total > 0 ? Math.round((progress.loaded / progress.total) * 100) : undefined;
  return (
    <div className="sbx-transfer">
      <span className="small">
        {label}: {formatBytes(progress.loaded)}
        {progress.total > 0 ? ` of ${formatBytes(progress.total)}` : ''}
      </span>
      <progress aria-label={label} max={100} {...(pct !== undefined ? { value: pct } : {})} />
    </div>
  );
}

function UploadList(props: {
  items: readonly UploadItem[];
  overall: Progress;
  onCancel: (id: number) => void;
  onClear: () => void;
}): ReactNode {
  if (props.items.length === 0) return null;
  const busy = props.items.some((i) => i.state === 'queued' || i.state === 'uploading');
  return (
    <section aria-label="Uploads" className="stack sbx-uploads">
      <div className="row spread">
        <h3>Uploads</h3>
        {!busy ? (
          <button type="button" onClick={props.onClear}>
            Clear
          </button>
        ) : null}
      </div>
      {busy ? <TransferBar label="All uploads" progress={props.overall} /> : null}
      <ul>
        {props.items.map((i) => (
          <li key={i.id} data-upload-state={i.state}>
            <div className="row spread wrap">
              <code>{i.path}</code>
              <span className="small">
                {i.state === 'uploading'
                  ? `${formatBytes(i.loaded)} of ${formatBytes(i.size)}`
                  : i.state === 'done'
                    ? `uploaded (${formatBytes(i.size)})`
                    : i.state}
              </span>
              {i.state === 'queued' || i.state === 'uploading' ? (
                <button
                  type="button"
                  onClick={() => props.onCancel(i.id)}
                  aria-label={`Cancel upload of ${i.path}`}
                >
                  Cancel
                </button>
              ) : null}
            </div>
            {i.state === 'uploading' ? (
              <progress aria-label={`Upload of ${i.path}`} max={i.size || 1} value={i.loaded} />
            ) : null}
            {i.error ? <ErrorNote advice={i.error} /> : null}
          </li>
        ))}
      </ul>
    </section>
  );
}

interface TreeProps {
  sandbox: Sandbox;
  ns: string;
  selectedDir: string;
  openPath: string | undefined;
  activePath: string;
  expanded: ReadonlySet<string>;
  onFocusItem: (entry: FileEntry) => void;
  onActivate: (e: FileEntry) => void;
  onDownload: (e: FileEntry) => void;
  onRename: (e: FileEntry) => void;
  onDelete: (e: FileEntry) => void;
}

/** A tree item's row as the keyboard handler sees it (from the attributes rendered below). */
function rowOf(el: HTMLElement): TreeRow {
  return {
    path: el.dataset.path ?? '',
    level: Number(el.getAttribute('aria-level') ?? '1'),
    isDir: el.dataset.dir === 'true',
    expanded: el.getAttribute('aria-expanded') === 'true',
  };
}

function entryOf(el: HTMLElement): FileEntry {
  const path = el.dataset.path ?? ROOT;
  return {
    name: path.slice(path.lastIndexOf('/') + 1),
    path,
    isDir: el.dataset.dir === 'true',
    size: Number(el.dataset.size ?? '0'),
    mode: '',
    modifiedAt: 0,
  };
}

/**
 * One item of the tree (WAI-ARIA treeitem), in a flat list: the hierarchy is in aria-level (no
 * nested groups), so an item's name is its own row (`kb/`, `a.txt 12 B`), not its folder's
 * contents. Focusable with the roving tabindex. The row's buttons are shortcuts for the mouse,
 * hidden from assistive technology and the tab order: the "Selected item" buttons above the tree
 * do the same for the item that has focus.
 */
function TreeItem(
  props: TreeProps & { entry: FileEntry; depth: number; label: ReactNode; extra?: ReactNode },
): ReactNode {
  const { entry } = props;
  const active = props.activePath === entry.path;
  const isOpen = entry.isDir && props.expanded.has(entry.path);
  const highlighted = entry.isDir ? props.selectedDir === entry.path : props.openPath === entry.path;
  return (
    <li
      role="treeitem"
      aria-level={props.depth + 1}
      aria-selected={active}
      {...(entry.isDir ? { 'aria-expanded': isOpen } : {})}
      tabIndex={active ? 0 : -1}
      data-path={entry.path}
      data-dir={entry.isDir ? 'true' : 'false'}
      data-size={entry.size}
      className={`sbx-entry${highlighted ? ' selected' : ''}`}
      style={{ paddingLeft: `${props.depth}rem` }}
      onFocus={() => props.onFocusItem(entry)}
      onClick={() => props.onActivate(entry)}
    >
      <span className="sbx-entry-name">{props.label}</span>
      {props.extra}
      <span aria-hidden="true" className="sbx-entry-actions">
        <EntryActions {...props} isRoot={props.depth === 0} mouseOnly />
      </span>
    </li>
  );
}

function DirNode(props: TreeProps & { entry: FileEntry; depth: number }): ReactNode {
  const { entry } = props;
  const expanded = props.expanded.has(entry.path);
  const listing = useQuery({
    queryKey: sbxKeys.dir(props.ns, props.sandbox.name, entry.path),
    queryFn: ({ signal }) => props.sandbox.files.list(entry.path, { signal }),
    enabled: expanded,
    retry: false,
  });
  const entries = [...(listing.data ?? [])].sort((a, b) =>
    a.isDir === b.isDir ? a.name.localeCompare(b.name) : a.isDir ? -1 : 1,
  );
  const state = !expanded
    ? undefined
    : listing.isPending
      ? 'loading…'
      : listing.isError
        ? `could not list: ${adviseError(listing.error).message}`
        : entries.length === 0
          ? 'empty'
          : undefined;
  return (
    <>
      <TreeItem
        {...props}
        label={
          <>
            <span aria-hidden="true">{expanded ? '▾' : '▸'}</span>{' '}
            {props.depth === 0 ? entry.path : entry.name}/
          </>
        }
        extra={
          state ? (
            <span className={`small ${listing.isError ? 'sbx-error' : 'muted'}`}> ({state})</span>
          ) : null
        }
      />
      {expanded && !state
        ? entries.map((e) =>
            e.isDir ? (
              <DirNode key={e.path} {...props} entry={e} depth={props.depth + 1} />
            ) : (
              <TreeItem
                key={e.path}
                {...props}
                entry={e}
                depth={props.depth + 1}
                label={`${e.name}${e.symlinkTarget ? ` → ${e.symlinkTarget}` : ''}`}
                extra={<span className="muted small">{formatBytes(e.size)}</span>}
              />
            ),
          )
        : null}
    </>
  );
}

function EntryActions(props: {
  entry: FileEntry;
  isRoot: boolean;
  /** The row's copy: out of the tab order, and a click does not also select the row. */
  mouseOnly?: boolean;
  onDownload: (e: FileEntry) => void;
  onRename: (e: FileEntry) => void;
  onDelete: (e: FileEntry) => void;
}): ReactNode {
  const { entry } = props;
  const button = (label: string, name: string, run: (e: FileEntry) => void, danger = false): ReactNode => (
    <button
      type="button"
      {...(danger ? { className: 'danger' } : {})}
      {...(props.mouseOnly ? { tabIndex: -1 } : { 'aria-label': name })}
      onClick={(e) => {
        e.stopPropagation();
        run(entry);
      }}
    >
      {label}
    </button>
  );
  return (
    <>
      {button(
        entry.isDir ? 'Zip' : 'Download',
        entry.isDir ? `Zip ${entry.path} (download as a zip file)` : `Download ${entry.path}`,
        props.onDownload,
      )}
      {!props.isRoot ? (
        <>
          {button('Rename', `Rename ${entry.path}`, props.onRename)}
          {button('Delete', `Delete ${entry.path}`, props.onDelete, true)}
        </>
      ) : null}
    </>
  );
}

function EntryDialog(props: {
  dialog: Dialog;
  sandbox: Sandbox;
  onDone: (changedDir: string, opened?: FileEntry) => void;
  onCancel: () => void;
}): ReactNode {
  const { dialog } = props;
  const [name, setName] = useState(dialog.kind === 'rename' ? dialog.entry.name : '');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(undefined);
  const [problem, setProblem] = useState<string | undefined>(undefined);

  const parent =
    dialog.kind === 'create'
      ? dialog.dir
      : dialog.entry.path.slice(0, dialog.entry.path.lastIndexOf('/')) || '/';

  const run = async (): Promise<void> => {
    setError(undefined);
    if (dialog.kind !== 'delete') {
      const p = nameProblem(name.trim());
      setProblem(p);
      if (p) return;
    }
    setBusy(true);
    try {
      if (dialog.kind === 'delete') {
        await props.sandbox.files.remove(dialog.entry.path, { recursive: dialog.entry.isDir });
        props.onDone(parent);
      } else if (dialog.kind === 'rename') {
        await props.sandbox.files.rename(dialog.entry.path, joinPath(parent, name.trim()));
        props.onDone(parent);
      } else {
        const path = joinPath(dialog.dir, name.trim());
        if (dialog.isDir) {
          await props.sandbox.files.mkdir(path);
          props.onDone(dialog.dir);
        } else {
          await props.sandbox.files.write(path, '');
          const entry: FileEntry = {
            name: name.trim(),
            path,
            size: 0,
            isDir: false,
            mode: '',
            modifiedAt: 0,
          };
          props.onDone(dialog.dir, entry);
        }
      }
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };

  const title =
    dialog.kind === 'delete'
      ? `Delete ${dialog.entry.isDir ? 'folder' : 'file'} ${dialog.entry.name}?`
      : dialog.kind === 'rename'
        ? `Rename ${dialog.entry.name}`
        : `New ${dialog.isDir ? 'folder' : 'file'} in ${dialog.dir}`;
  return (
    <ConfirmDialog
      open
      title={title}
      confirmLabel={
        busy
          ? 'Working…'
          : dialog.kind === 'delete'
            ? 'Delete'
            : dialog.kind === 'rename'
              ? 'Rename'
              : 'Create'
      }
      danger={dialog.kind === 'delete'}
      onConfirm={() => void run()}
      onCancel={props.onCancel}
    >
      {dialog.kind === 'delete' ? (
        <p>
          <code>{dialog.entry.path}</code>
          {dialog.entry.isDir ? ' and everything in it' : ''} will be removed from the sandbox. This cannot be
          undone.
        </p>
      ) : (
        <form
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void run();
          }}
        >
          <label htmlFor="sbx-entry-name">Name</label>
          <input
            id="sbx-entry-name"
            value={name}
            onChange={(e) => setName(e.target.value)}
            aria-invalid={problem ? true : undefined}
            aria-describedby={problem ? 'sbx-entry-name-problem' : undefined}
          />
          {problem ? (
            <p id="sbx-entry-name-problem" role="alert" className="sbx-error">
              {problem}
            </p>
          ) : null}
        </form>
      )}
      {error ? <ErrorNote error={error} /> : null}
    </ConfirmDialog>
  );
}

function FileEditorPane(props: {
  entry: FileEntry;
  sandbox: Sandbox;
  /** Grows when the file-watch feed saw this file change. */
  changes: number;
  onDownload: () => void;
  /** After a save: the folder listing shows the new size without waiting for the change feed. */
  onSaved: () => void;
  onClose: () => void;
}): ReactNode {
  const { entry } = props;
  const [loadCount, setLoadCount] = useState(0);
  const refusal = editRefusal(entry.size);
  const content = useQuery({
    queryKey: ['sbx-file', props.sandbox.namespace, props.sandbox.name, entry.path, loadCount],
    queryFn: async ({ signal }) => {
      const bytes = await props.sandbox.files.read(entry.path, { signal });
      const late = editRefusal(bytes.byteLength);
      if (late) return { refusal: late };
      if (looksBinary(bytes))
        return { refusal: 'This is a binary file; download it to open it with another program.' };
      return { text: new TextDecoder().decode(bytes) };
    },
    enabled: !refusal,
    retry: false,
    staleTime: Infinity,
    gcTime: 0,
  });
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [saving, setSaving] = useState(false);
  const [saved, setSaved] = useState<string | undefined>(undefined);
  const [saveError, setSaveError] = useState<unknown>(undefined);
  // What the sandbox holds as far as we know: the text read, or the last text saved.
  const [savedText, setSavedText] = useState<string | undefined>(undefined);
  const baseline = savedText ?? content.data?.text;
  const dirty = draft !== undefined && draft !== baseline;

  const save = async (): Promise<void> => {
    if (draft === undefined) return;
    setSaving(true);
    setSaveError(undefined);
    try {
      const r = await props.sandbox.files.write(entry.path, draft);
      setSavedText(draft);
      props.onSaved();
      setSaved(`Saved ${formatBytes(r.bytes)} at ${new Date().toLocaleTimeString()}.`);
    } catch (err) {
      setSaveError(err);
    } finally {
      setSaving(false);
    }
  };
  // The feed also reports our own saves: only text that differs from ours counts as a change.
  const [changedOnDisk, setChangedOnDisk] = useState(false);
  const baselineRef = useRef(baseline);
  baselineRef.current = baseline;
  const firstChanges = useRef(props.changes);
  useEffect(() => {
    if (props.changes === firstChanges.current || why) return;
    const abort = new AbortController();
    props.sandbox.files
      .readText(entry.path, { signal: abort.signal })
      .then((text) => {
        if (baselineRef.current !== undefined && text !== baselineRef.current) setChangedOnDisk(true);
      })
      .catch(() => setChangedOnDisk(true)); // deleted or unreadable now: say so, Reload shows why
    return () => abort.abort();
  }, [props.changes]);
  const saveRef = useRef(save);
  saveRef.current = save;

  const reload = (): void => {
    setDraft(undefined);
    setSaved(undefined);
    setSavedText(undefined);
    setLoadCount((n) => n + 1);
    setChangedOnDisk(false);
  };

  const why = refusal ?? content.data?.refusal;
  return (
    <section className="stack" aria-label={`Editor for ${entry.path}`}>
      <div className="row spread wrap">
        <h3>
          <code>{entry.path}</code>
          {dirty ? <span className="muted small"> (unsaved)</span> : null}
        </h3>
        <div className="row wrap">
          {!why && content.data?.text !== undefined ? (
            <button type="button" className="primary" disabled={saving || !dirty} onClick={() => void save()}>
              {saving ? 'Saving…' : 'Save'}
            </button>
          ) : null}
          <button type="button" onClick={reload}>
            Reload
          </button>
          <button type="button" onClick={props.onDownload}>
            Download
          </button>
          <button type="button" onClick={props.onClose}>
            Close
          </button>
        </div>
      </div>
      {changedOnDisk ? (
        <p role="status" className="sbx-warn">
          This file changed in the sandbox. {dirty ? 'Save to overwrite it with your version, or ' : ''}
          <button type="button" className="link" onClick={reload}>
            reload it
          </button>
          {dirty ? ' (your changes are lost)' : ''}.
        </p>
      ) : null}
      {saved && !dirty ? (
        <p role="status" className="muted small">
          {saved}
        </p>
      ) : null}
      {saveError ? <ErrorNote error={saveError} /> : null}
      {why ? (
        <p role="status" className="sbx-warn">
          {why}
        </p>
      ) : content.isPending ? (
        <p role="status" className="sbx-wait">
          <span className="sbx-spinner" aria-hidden="true" /> Opening {entry.name}…
        </p>
      ) : content.isError ? (
        <ErrorNote advice={adviseError(content.error)} />
      ) : content.data?.text !== undefined ? (
        <Suspense
          fallback={
            <p role="status" className="sbx-wait">
              <span className="sbx-spinner" aria-hidden="true" /> Loading the editor…
            </p>
          }
        >
          <CodeEditor
            key={loadCount}
            initial={content.data.text}
            language={languageFor(entry.path)}
            label={`Contents of ${entry.path}`}
            onChange={setDraft}
            onSave={() => void saveRef.current()}
          />
        </Suspense>
      ) : null}
    </section>
  );
}
