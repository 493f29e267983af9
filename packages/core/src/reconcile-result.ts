import type { ErrorCode } from '@agenttier/contract';
import { PlatformError } from '@agenttier/contract';

/**
 * What one reconcile pass asks of the work queue, spelled out so that "again at once" and "not until
 * something changes" cannot be confused (a bare `0` used to mean both):
 * - `now`: look again at once (the pass acted, or lost a write race and must re-read);
 * - `after`: look again in `delayMs` (polling a container that is starting, a backoff, a timeout);
 * - `whenChanged`: nothing to do until a watch event or the periodic resync enqueues the key.
 * A pass that throws asks for nothing: the queue retries the key with its own per-key backoff.
 */
export type ReconcileResult =
  | { readonly requeue: 'now' }
  | { readonly requeue: 'after'; readonly delayMs: number }
  | { readonly requeue: 'whenChanged' };

export const requeueNow: ReconcileResult = Object.freeze({ requeue: 'now' });
export const requeueWhenChanged: ReconcileResult = Object.freeze({ requeue: 'whenChanged' });

/** Look again in `delayMs` (a delay of 0 or less is `requeueNow`). */
export function requeueAfter(delayMs: number): ReconcileResult {
  return delayMs > 0 ? { requeue: 'after', delayMs } : requeueNow;
}

/**
 * A failure that retrying cannot fix: the user has to change something (a template that does not exist
 * or cannot be merged, a runtime class the engine does not have). Raised where that is known; the
 * reconciler puts the sandbox in Error at once and waits for a spec change instead of backing off.
 * A PlatformError too, so API callers that meet it see its code.
 */
export class TerminalError extends PlatformError {
  constructor(code: ErrorCode, message: string, opts: { cause?: unknown } = {}) {
    super(code, message, opts);
    this.name = 'TerminalError';
  }
}

export function isTerminalError(err: unknown): err is TerminalError {
  return err instanceof TerminalError;
}
