import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';

/** Starts `server` (HTTP or plain TCP) on 127.0.0.1 at a free port and returns the port. */
export async function listenOnLoopback(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** Stops a test server (if it was made): drops its open connections, then waits until it is closed. */
export async function closeServer(server: Server | undefined): Promise<void> {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
}

/** A server of hostile pages: `pages.get(url)` as HTML, 404 for any other URL. */
export function htmlPages(pages: Map<string, string>): Server {
  return createServer((req, res) => {
    const page = pages.get(req.url ?? '/');
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html' }).end(page ?? 'not found');
  });
}
