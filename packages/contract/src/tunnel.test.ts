// eslint-disable-next-line no-restricted-imports -- real loopback sockets; production code stays platform-neutral
import { connect, createServer } from 'node:net';
// eslint-disable-next-line no-restricted-imports -- as above
import type { AddressInfo, Server, Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { splice } from './tunnel.ts';

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

function listen(onConnection: (socket: Socket) => void): Promise<number> {
  const server = createServer({ allowHalfOpen: true }, onConnection);
  servers.push(server);
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

/** A relay on loopback that splices each connection to `upstreamPort`: the shape of every tunnel. */
async function relay(upstreamPort: number): Promise<number> {
  return listen((front) => {
    const back = connect({ host: '127.0.0.1', port: upstreamPort, allowHalfOpen: true });
    splice(front, back);
  });
}

/** Everything `socket` reads until its peer ends, and whether it closed afterwards. */
function readAll(socket: Socket): Promise<string> {
  return new Promise((resolve, reject) => {
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (text += d));
    socket.on('error', reject);
    socket.on('end', () => resolve(text));
  });
}

describe('splice', () => {
  it('carries bytes both ways and passes a half-close on, so the far side can still answer', async () => {
    // Reads the whole request (until FIN), then answers and ends: only works if FIN gets through.
    const upstream = await listen((s) => {
      void readAll(s).then((req) => s.end(`got ${req.length} bytes: ${req.slice(0, 5)}`));
    });
    const client = connect({ host: '127.0.0.1', port: await relay(upstream), allowHalfOpen: true });
    const answer = readAll(client);
    client.end('hello'.repeat(100_000));
    expect(await answer).toBe('got 500000 bytes: hello');
  });

  it('delivers the last bytes of a side that writes a lot and closes at once', async () => {
    const body = 'x'.repeat(4 * 1024 * 1024);
    const upstream = await listen((s) => s.end(body));
    const client = connect({ host: '127.0.0.1', port: await relay(upstream), allowHalfOpen: true });
    const got = await readAll(client);
    expect(got.length).toBe(body.length);
    client.end();
  });

  it('tears the other side down when one side is destroyed', async () => {
    let accepted!: (s: Socket) => void;
    const upstreamSocket = new Promise<Socket>((resolve) => (accepted = resolve));
    const upstream = await listen((s) => {
      s.on('error', () => {});
      accepted(s);
    });
    const client = connect({ host: '127.0.0.1', port: await relay(upstream) });
    client.on('error', () => {});
    const far = await upstreamSocket; // the whole path is open
    // The relay's connection to it is gone: it reads the end of the stream (a half-open server socket
    // stays open for its own writes, so 'end' is the sign, not 'close').
    const farEnded = new Promise<void>((resolve) => far.once('end', () => resolve()));
    far.resume();
    client.resetAndDestroy();
    await farEnded;
  });
});
