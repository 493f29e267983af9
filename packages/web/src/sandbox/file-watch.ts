/**
 * Live refresh of the file tree: follows `GET …/fs/watch` (SSE) and reports which directories
 * changed, batched so a burst (an unzip, a build) becomes one refresh. When the feed breaks it comes
 * back by itself with a back-off and asks for a full refresh, since changes made meanwhile were missed.
 */
import type { Sandbox } from '@agenttier/sdk';
import { adviseError } from './error-advice.ts';

export type WatchStatus =
  | { kind: 'connecting' }
  | { kind: 'live' }
  | { kind: 'retrying'; attempt: number; reason: string }
  | { kind: 'off'; reason: string; next: string };

export interface FileWatchOpts {
  root: string;
  /** Directories whose listing changed; `all` after a gap in the feed. */
  onChange: (dirs: Set<string> | 'all') => void;
  /** Each change as it arrives (the Files tab checks whether the open file changed). */
  onFileChange?: (path: string, type: string) => void;
  onStatus?: (status: WatchStatus) => void;
  /** Changes arriving within this window are reported together. @default 150 */
  batchMs?: number;
  /** @default 500, doubling up to 10 s */
  retryDelayMs?: number;
  /** Consecutive failures before giving up. @default 8 */
  maxAttempts?: number;
}

export function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

/** Starts following; returns a function that stops it. */
export function watchFiles(files: Pick<Sandbox['files'], 'watch'>, opts: FileWatchOpts): () => void {
  const abort = new AbortController();
  const batchMs = opts.batchMs ?? 150;
  const baseDelay = opts.retryDelayMs ?? 500;
  const maxAttempts = opts.maxAttempts ?? 8;
  let pending = new Set<string>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  const flush = (): void => {
    timer = undefined;
    const dirs = pending;
    pending = new Set();
    if (dirs.size > 0 && !abort.signal.aborted) opts.onChange(dirs);
  };

  void (async () => {
    let failures = 0;
    while (!abort.signal.aborted) {
      opts.onStatus?.(
        failures === 0 ? { kind: 'connecting' } : { kind: 'retrying', attempt: failures, reason: '' },
      );
      let reason: unknown;
      try {
        const changes = files.watch(opts.root, { recursive: true, signal: abort.signal });
        const first = changes.next(); // opens the stream
        // Shown as live from here on; a refused watch (no daemon, stopped sandbox) flips it at once.
        opts.onStatus?.({ kind: 'live' });
        if (failures > 0) opts.onChange('all'); // changes during the gap were missed
        let step = await first;
        while (!step.done) {
          failures = 0;
          const change = step.value;
          opts.onFileChange?.(change.path, change.type);
          pending.add(parentDir(change.path));
          if (change.type === 'deleted' || change.type === 'created') pending.add(change.path);
          timer ??= setTimeout(flush, batchMs);
          step = await changes.next();
        }
        if (abort.signal.aborted) return;
        reason = new Error('the change feed ended');
      } catch (err) {
        if (abort.signal.aborted) return;
        reason = err;
      }
      failures++;
      const advice = adviseError(reason);
      const code = (reason as { code?: string }).code;
      // A sandbox without its daemon cannot watch: say so once instead of retrying forever.
      if (code === 'UNAVAILABLE' || code === 'NOT_IMPLEMENTED' || failures > maxAttempts) {
        opts.onStatus?.({ kind: 'off', reason: advice.message, next: 'Use Refresh to reload the list.' });
        return;
      }
      opts.onStatus?.({ kind: 'retrying', attempt: failures, reason: advice.message });
      await new Promise((r) => setTimeout(r, Math.min(10_000, baseDelay * 2 ** (failures - 1))));
    }
  })();

  return () => {
    abort.abort();
    clearTimeout(timer);
  };
}
