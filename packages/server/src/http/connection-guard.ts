import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/**
 * Connection limits against slowloris: thousands of connections that send half a request and wait.
 * Node reaps them only after `headersTimeout`, and until then each holds a descriptor; enough of them
 * starved the controller of descriptors for its engine calls. Two bounds:
 * - `maxConnections` is Node's hard ceiling (beyond it new connections are dropped at once);
 * - from `evictAtConnections` on, each new connection evicts the oldest connection that has no request
 *   in flight (still sending headers, or idle between keep-alive requests), so an attacker's half-open
 *   connections make room for real clients instead of locking them out.
 */
export interface ConnectionGuardOpts {
  /** @default 2048 */
  maxConnections?: number;
  /** @default 90% of maxConnections */
  evictAtConnections?: number;
}

interface Tracked {
  /** Requests received on this connection and not yet answered; upgraded sockets stay busy. */
  inFlight: number;
}

export interface ConnectionGuard {
  /** Connections open right now (tracked by the guard). */
  readonly size: number;
  /** How many connections were evicted to make room so far. */
  readonly evicted: number;
}

export function installConnectionGuard(server: Server, opts: ConnectionGuardOpts = {}): ConnectionGuard {
  const max = opts.maxConnections ?? 2048;
  const evictAt = Math.min(max, opts.evictAtConnections ?? Math.floor(max * 0.9));
  server.maxConnections = max;
  // Insertion order is age order: the first idle entry is the oldest idle connection.
  const sockets = new Map<Socket, Tracked>();
  let evicted = 0;

  server.on('connection', (socket: Socket) => {
    if (sockets.size >= evictAt) {
      for (const [old, t] of sockets) {
        if (t.inFlight > 0) continue;
        sockets.delete(old);
        old.destroy();
        evicted++;
        break;
      }
    }
    sockets.set(socket, { inFlight: 0 });
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (req, res) => {
    const t = sockets.get(req.socket);
    if (!t) return;
    t.inFlight++;
    res.once('close', () => {
      t.inFlight = Math.max(0, t.inFlight - 1);
    });
  });
  server.on('upgrade', (req) => {
    const t = sockets.get(req.socket);
    if (t) t.inFlight = Number.POSITIVE_INFINITY; // a WebSocket is never idle in this sense
  });

  return {
    get size() {
      return sockets.size;
    },
    get evicted() {
      return evicted;
    },
  };
}
