/**
 * A hostile sandboxd for attack tests: what code inside a sandbox can put in place of the daemon. It
 * listens on the unix socket given as argv[2] and answers every call with far more than the router
 * may take (OFFER_BYTES, 1.5 GiB by default), writing only as fast as the router reads. It runs in its
 * own process (started with `fork`), so the router's memory is measured alone; over IPC it reports
 * `{ path, sentBytes, blocked }` when a stream stalls (the router stopped reading) or finishes.
 *
 * Run with Node's own type stripping: no build step, no test framework inside.
 */
import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer } from 'ws';
import type { WebSocket } from 'ws';

const socketPath = process.argv[2] as string;
const OFFER_BYTES = Number(process.env.OFFER_BYTES ?? 1.5 * 1024 * 1024 * 1024);
const CHUNK = Buffer.alloc(1024 * 1024, 'A');

function report(path: string, sentBytes: number, blocked: boolean): void {
  process.send?.({ path, sentBytes, blocked });
}

/** Writes `prefix`, then CHUNKs until OFFER_BYTES or the router hangs up; reports stalls. */
async function flood(res: ServerResponse | Duplex, path: string, prefix = ''): Promise<void> {
  let sent = 0;
  if (prefix) res.write(prefix);
  while (sent < OFFER_BYTES && !res.destroyed) {
    sent += CHUNK.length;
    if (!res.write(CHUNK)) {
      const stalled = setTimeout(() => report(path, sent, true), 2000);
      await new Promise<void>((resolve) => {
        const done = (): void => {
          res.off('drain', done);
          res.off('close', done);
          resolve();
        };
        res.once('drain', done);
        res.once('close', done);
      });
      clearTimeout(stalled);
    }
  }
  report(path, sent, false);
  if (!res.destroyed) res.end();
}

/** Sends binary attach frames (9-byte header + data) or terminal JSON frames without end. */
async function floodWs(ws: WebSocket, path: string, binary: boolean): Promise<void> {
  let sent = 0;
  let offset = 0;
  const frame = Buffer.alloc(9 + CHUNK.length, 'A');
  frame[0] = 1; // stdout
  const text = JSON.stringify({ type: 'output', stream: 'stdout', data: CHUNK.toString('latin1') });
  // Stalled = the router has not taken anything for a whole second (a momentarily full buffer is
  // just a reader slower than this loop).
  let waitingSince: number | undefined;
  while (sent < OFFER_BYTES && ws.readyState === ws.OPEN) {
    if (ws.bufferedAmount > 16 * 1024 * 1024) {
      waitingSince ??= Date.now();
      // A process named invoke* models an agent run: it prints everything, however slowly it is read.
      if (Date.now() - waitingSince > 1000 && !path.includes('/invoke')) return report(path, sent, true);
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    waitingSince = undefined;
    if (binary) {
      frame.writeBigUInt64BE(BigInt(offset), 1);
      ws.send(frame, { binary: true });
      offset += CHUNK.length;
    } else ws.send(text);
    sent += CHUNK.length;
    await new Promise((r) => setImmediate(r));
  }
  report(path, sent, false);
  ws.close(); // all offered: the process "exits" without an exit frame
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const url = new URL(req.url ?? '/', 'http://sandboxd');
  const path = url.pathname;
  const file = url.searchParams.get('path') ?? '';
  req.resume();
  if (path === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return void res.end('{"status":"ok","apiVersion":1}');
  }
  if (path === '/v1/files/read' && file.endsWith('/declared-huge')) {
    // Claims a size far past the cap.
    res.writeHead(200, { 'content-length': String(OFFER_BYTES) });
    return void flood(res, path + file);
  }
  if (path === '/v1/files/read') {
    // No Content-Length: an endless chunked body.
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    return void flood(res, path + file);
  }
  if (path === '/v1/files/stat' && file.endsWith('/error')) {
    res.writeHead(400, { 'content-type': 'application/json' });
    return void flood(res, path + file, '{"error":{"code":"invalid_path","message":"');
  }
  if (path === '/v1/files/watch') {
    // One frame that never ends.
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    return void flood(res, path, 'event: change\ndata: ');
  }
  if (path === '/v1/files/archive') {
    // Announces one small file in its headers, then a well-formed tar entry of 1 GiB, sent without end.
    res.writeHead(200, {
      'content-type': 'application/x-tar',
      'x-archive-bytes': '10',
      'x-archive-entries': '1',
    });
    const header = Buffer.alloc(512);
    header.write('workspace/big', 0);
    header.write('0000644\0', 100);
    header.write('0000000\0', 108);
    header.write('0000000\0', 116);
    header.write(`${(1024 ** 3).toString(8).padStart(11, '0')}\0`, 124);
    header.write('00000000000\0', 136);
    header.write('0', 156);
    header.write('ustar\u000000', 257);
    header.fill(' ', 148, 156);
    let sum = 0;
    for (const b of header) sum += b;
    header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
    return void flood(res, path, header.toString('latin1'));
  }
  // exec, list, stat, process table, everything else: a JSON answer that never closes its string.
  res.writeHead(200, { 'content-type': 'application/json' });
  void flood(res, path, '{"stdout":"');
});

const wss = new WebSocketServer({ noServer: true });
server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
  const path = new URL(req.url ?? '/', 'http://sandboxd').pathname;
  if (path.startsWith('/v1/tcp/')) {
    // A port inside the sandbox that accepts and then never reads what the client sends.
    socket.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: agenttier-tcp\r\n\r\n');
    socket.pause();
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => {
    ws.on('error', () => {});
    if (path.endsWith('/attach')) {
      ws.send(
        JSON.stringify({
          type: 'attached',
          process: { id: 'p1', pid: 7, state: 'running' },
          fromOffset: 0,
          droppedBytes: 0,
        }),
      );
      void floodWs(ws, path, true);
    } else void floodWs(ws, path, false);
  });
});

server.listen(socketPath, () => process.send?.({ listening: socketPath }));
process.on('disconnect', () => process.exit(0));
