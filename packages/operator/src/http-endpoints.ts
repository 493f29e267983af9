import { createServer } from 'node:http';
import type { Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface Endpoints {
  /** Base URL, e.g. http://127.0.0.1:8082 */
  url: string;
  close(): Promise<void>;
}

/**
 * /healthz (the process lives), /readyz (its caches are synced) and /metrics on one small HTTP
 * server; controller-runtime serves the probes and metrics on two ports, and so can we.
 */
export async function serveEndpoints(opts: {
  host: string;
  port: number;
  ready?: () => boolean | Promise<boolean>;
  registry?: Registry;
}): Promise<Endpoints> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    void (async () => {
      if (path === '/healthz' || path === '/livez') {
        res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
        return;
      }
      if (path === '/readyz' && opts.ready) {
        const ok = await opts.ready();
        res
          .writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' })
          .end(ok ? 'ok' : 'not ready: caches not synced');
        return;
      }
      if (path === '/metrics' && opts.registry) {
        const body = await opts.registry.metrics();
        res.writeHead(200, { 'content-type': opts.registry.contentType }).end(body);
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
    })().catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const host = opts.host === '0.0.0.0' || opts.host === '::' ? '127.0.0.1' : opts.host;
  return {
    url: `http://${host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
