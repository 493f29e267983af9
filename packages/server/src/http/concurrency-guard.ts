import { PlatformError } from '@agenttier/contract';

/**
 * A cap on concurrent expensive requests (exec, files, archives, invoke, processes, configure) per
 * client, so one client cannot hold every sandboxd connection and engine call the router has. The
 * key is the client address (and, once requests are authenticated, who is calling).
 */
export interface ConcurrencyGuard {
  /** Takes a slot for `key` or throws 429 RATE_LIMITED; the returned function gives it back. */
  acquire(key: string): () => void;
  /** Slots in use for `key`. */
  inUse(key: string): number;
}

/** Routes that each hold a sandboxd connection or an engine call while they run (`fs/watch` for as long as it is open). */
const EXPENSIVE_RE = /^\/api\/v1\/sandboxes\/[^/]+\/(exec|files|fs|archive|invoke|processes|configure)(\/|$)/;

export function isExpensiveRoute(routeUrl: string | undefined): boolean {
  return routeUrl !== undefined && EXPENSIVE_RE.test(routeUrl);
}

export function createConcurrencyGuard(
  maxPerClient: number,
  what = 'exec/file/invoke calls at once',
): ConcurrencyGuard {
  const counts = new Map<string, number>();
  return {
    acquire(key) {
      const n = counts.get(key) ?? 0;
      if (n >= maxPerClient)
        throw new PlatformError(
          'RATE_LIMITED',
          `too many concurrent requests from this client (${maxPerClient} ${what}); wait for some to finish`,
          { headers: { 'retry-after': '1' } },
        );
      counts.set(key, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (counts.get(key) ?? 1) - 1;
        if (left > 0) counts.set(key, left);
        else counts.delete(key);
      };
    },
    inUse: (key) => counts.get(key) ?? 0,
  };
}
