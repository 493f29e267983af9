// Watch streams as the apiserver writes them: HTTP 200, chunked, one `{"type","object"}` JSON
// document per line. Without a resourceVersion (or with "0") the stream starts with a synthetic
// ADDED per existing object; with one, history after it is replayed, and a compacted one gets a
// single ERROR event (410 Expired) before the stream ends. Selector transitions turn into
// ADDED/DELETED. BOOKMARKs are sent periodically when allowed, and on demand.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { JsonObject } from './json.ts';
import { getIn, str } from './json.ts';
import { apiVersionOf } from './resource-type.ts';
import type { ResourceType } from './resource-type.ts';
import type { Rest, Selectors } from './rest.ts';
import { statusBody } from './status.ts';
import type { Storage, StoreEvent } from './storage.ts';

export interface WatchRequest {
  type: ResourceType;
  version: string;
  namespace?: string;
  selectors: Selectors;
  resourceVersion?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  /** Renders an object for the wire (a plain view, or a one-row Table for kubectl). */
  render(stored: JsonObject): JsonObject;
}

export interface WatchHubOpts {
  /** @default 60000 (the real server sends bookmarks about once a minute) */
  bookmarkIntervalMs?: number;
  /** Server-side cap for watches without timeoutSeconds. @default 1800 */
  maxWatchSeconds?: number;
}

interface OpenWatch {
  res: ServerResponse;
  allowBookmarks: boolean;
  bookmark(): void;
  end(abrupt: boolean): void;
}

export class WatchHub {
  private readonly open = new Set<OpenWatch>();
  private expireNext = 0;

  constructor(
    private readonly storage: Storage,
    private readonly rest: Rest,
    private readonly opts: WatchHubOpts = {},
  ) {}

  get count(): number {
    return this.open.size;
  }

  /** The next `n` watches are answered with an ERROR 410 event, as if their resourceVersion were compacted. */
  expireNextWatches(n: number): void {
    this.expireNext += n;
  }

  serve(req: IncomingMessage, res: ServerResponse, w: WatchRequest): void {
    const t = w.type;
    res.writeHead(200, {
      'Content-Type': 'application/json',
      'Cache-Control': 'no-cache, private',
      'Transfer-Encoding': 'chunked',
    });
    res.flushHeaders();
    const send = (type: string, object: JsonObject) => {
      if (!res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
    };
    const inScope = (o: JsonObject) =>
      !t.namespaced || !w.namespace || str(getIn(o, ['metadata', 'namespace'])) === w.namespace;
    const matches = (o: JsonObject | undefined) => !!o && inScope(o) && this.rest.matches(t, w.selectors, o);

    const deliver = (ev: StoreEvent) => {
      if (ev.key !== t.storageKey) return;
      const now = ev.type !== 'DELETED' && matches(ev.object);
      const before = ev.type === 'ADDED' ? false : matches(ev.prev ?? ev.object);
      if (ev.type === 'ADDED' && now) send('ADDED', w.render(ev.object));
      else if (ev.type === 'MODIFIED') {
        if (before && now) send('MODIFIED', w.render(ev.object));
        else if (!before && now) send('ADDED', w.render(ev.object));
        else if (before && !now) send('DELETED', w.render(ev.object));
      } else if (ev.type === 'DELETED' && before) send('DELETED', w.render(ev.object));
    };

    const rv = w.resourceVersion;
    const expired = (from: string) => {
      send(
        'ERROR',
        statusBody(410, 'Expired', `too old resource version: ${from} (${this.storage.oldestAvailableRv()})`),
      );
      res.end();
    };
    if (this.expireNext > 0) {
      this.expireNext--;
      expired(rv || '0');
      return;
    }
    if (!rv || rv === '0') {
      for (const o of this.storage.list(t.storageKey, t.namespaced ? w.namespace : undefined)) {
        if (matches(o)) send('ADDED', w.render(o));
      }
    } else {
      const n = Number(rv);
      if (!Number.isInteger(n) || n < 0) {
        send('ERROR', statusBody(400, 'BadRequest', `invalid resource version: ${rv}`));
        res.end();
        return;
      }
      const backlog = this.storage.eventsAfter(n);
      if (!backlog) {
        expired(rv);
        return;
      }
      for (const ev of backlog) deliver(ev);
    }

    const unsubscribe = this.storage.subscribe(deliver);
    const bookmark = () =>
      send('BOOKMARK', {
        kind: t.kind,
        apiVersion: apiVersionOf(t.group, w.version),
        metadata: { resourceVersion: String(this.storage.currentRv()) },
      });
    const timers: NodeJS.Timeout[] = [];
    const entry: OpenWatch = {
      res,
      allowBookmarks: w.allowBookmarks,
      bookmark,
      end: (abrupt) => {
        cleanup();
        if (abrupt) res.socket?.destroy();
        else res.end();
      },
    };
    const cleanup = () => {
      unsubscribe();
      for (const tm of timers) clearTimeout(tm);
      this.open.delete(entry);
    };
    this.open.add(entry);
    const limit = w.timeoutSeconds ?? this.opts.maxWatchSeconds ?? 1800;
    timers.push(setTimeout(() => entry.end(false), limit * 1000));
    if (w.allowBookmarks) {
      const every = this.opts.bookmarkIntervalMs ?? 60_000;
      timers.push(setInterval(bookmark, every));
    }
    req.on('close', cleanup);
    res.on('close', cleanup);
  }

  /** Ends every open watch: cleanly (the client sees the stream end) or by resetting the socket. */
  dropAll(abrupt = false): number {
    const n = this.open.size;
    for (const w of [...this.open]) w.end(abrupt);
    return n;
  }

  bookmarkNow(): void {
    for (const w of this.open) if (w.allowBookmarks) w.bookmark();
  }

  close(): void {
    this.dropAll(true);
  }
}
