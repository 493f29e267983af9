export interface EventuallyOpts {
  /** @default 10000 */
  timeoutMs?: number;
  /** Pause between polls. @default 25 */
  intervalMs?: number;
  /** Describes what was last seen, for the timeout message (e.g. the object's status). */
  lastSeen?: () => Promise<string> | string;
  /** An error for which waiting longer cannot help: thrown at once instead of retried. */
  isFatal?: (err: unknown) => boolean;
}

/**
 * Polls `fn` until it returns something truthy, and returns that; errors thrown meanwhile are kept
 * and named in the timeout message. For tests that wait on a state, never on a duration.
 */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  what: string,
  timeoutMsOrOpts: number | EventuallyOpts = {},
): Promise<T> {
  const opts = typeof timeoutMsOrOpts === 'number' ? { timeoutMs: timeoutMsOrOpts } : timeoutMsOrOpts;
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      if (opts.isFatal?.(err)) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      const seen = opts.lastSeen
        ? await Promise.resolve(opts.lastSeen()).catch((e: unknown) => String(e))
        : '';
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}` +
          `${seen ? `; last seen: ${seen}` : ''}`,
      );
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
}
