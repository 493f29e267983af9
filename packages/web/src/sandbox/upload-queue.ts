/**
 * Files dropped on the Files tab, uploaded one after another with a progress bar each and one for
 * the whole drop. A file over the cap fails at once without a request; a failure does not stop the
 * files after it; every failure carries its next step.
 */
import { MAX_FILE_BYTES } from '@agenttier/contract';
import { adviseError, type ErrorAdvice } from './error-advice.ts';
import { tooLargeError, type Progress } from './transfer.ts';

export type UploadState = 'queued' | 'uploading' | 'done' | 'failed' | 'cancelled';

export interface UploadItem {
  id: number;
  /** Sandbox path written to. */
  path: string;
  size: number;
  loaded: number;
  state: UploadState;
  error?: ErrorAdvice;
}

/** Sends one file; rejects with the SDK's typed error. */
export type UploadSender = (
  path: string,
  body: Blob,
  opts: { onProgress: (p: Progress) => void; signal: AbortSignal },
) => Promise<void>;

export class UploadQueue {
  private items: UploadItem[] = [];
  private bodies = new Map<number, Blob>();
  private nextId = 1;
  private running = false;
  private current: { id: number; abort: AbortController } | undefined;
  private readonly listeners = new Set<(items: readonly UploadItem[]) => void>();

  constructor(
    private readonly send: UploadSender,
    /** Called after each file that arrived, with its path (to refresh its directory). */
    private readonly onUploaded: (path: string) => void = () => {},
  ) {}

  get snapshot(): readonly UploadItem[] {
    return this.items;
  }

  /** Bytes done and total over the items not cancelled or failed before starting. */
  get overall(): Progress {
    let loaded = 0;
    let total = 0;
    for (const item of this.items) {
      if (item.state === 'cancelled' || (item.state === 'failed' && item.loaded === 0)) continue;
      loaded += item.loaded;
      total += item.size;
    }
    return { loaded, total };
  }

  get busy(): boolean {
    return this.items.some((i) => i.state === 'queued' || i.state === 'uploading');
  }

  subscribe(fn: (items: readonly UploadItem[]) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private changed(): void {
    this.items = [...this.items];
    for (const fn of this.listeners) fn(this.items);
  }

  private update(id: number, patch: Partial<UploadItem>): void {
    this.items = this.items.map((i) => (i.id === id ? { ...i, ...patch } : i));
    for (const fn of this.listeners) fn(this.items);
  }

  /** Queues files for `dir` (each keeps its name); starts sending if idle. */
  add(files: Array<{ name: string; blob: Blob }>, dir: string): void {
    for (const f of files) {
      const id = this.nextId++;
      const path = `${dir.replace(/\/+$/, '')}/${f.name}`;
      const item: UploadItem = { id, path, size: f.blob.size, loaded: 0, state: 'queued' };
      if (f.blob.size > MAX_FILE_BYTES) {
        item.state = 'failed';
        item.error = adviseError(tooLargeError(f.name, f.blob.size));
      } else {
        this.bodies.set(id, f.blob);
      }
      this.items.push(item);
    }
    this.changed();
    void this.pump();
  }

  /** Cancels one item (the one in flight is aborted). */
  cancel(id: number): void {
    if (this.current?.id === id) this.current.abort.abort();
    const item = this.items.find((i) => i.id === id);
    if (item?.state === 'queued') {
      this.bodies.delete(id);
      this.update(id, { state: 'cancelled' });
    }
  }

  /** Forgets finished items. */
  clearFinished(): void {
    this.items = this.items.filter((i) => i.state === 'queued' || i.state === 'uploading');
    this.changed();
  }

  private async pump(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (;;) {
        const next = this.items.find((i) => i.state === 'queued');
        if (!next) return;
        const body = this.bodies.get(next.id);
        this.bodies.delete(next.id);
        if (!body) continue;
        const abort = new AbortController();
        this.current = { id: next.id, abort };
        this.update(next.id, { state: 'uploading' });
        try {
          await this.send(next.path, body, {
            signal: abort.signal,
            onProgress: (p) => this.update(next.id, { loaded: Math.min(p.loaded, next.size) }),
          });
          this.update(next.id, { state: 'done', loaded: next.size });
          this.onUploaded(next.path);
        } catch (err) {
          if (abort.signal.aborted) this.update(next.id, { state: 'cancelled' });
          else this.update(next.id, { state: 'failed', error: adviseError(err) });
        } finally {
          this.current = undefined;
        }
      }
    } finally {
      this.running = false;
    }
  }
}
