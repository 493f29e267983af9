import { request as httpRequest } from 'node:http';
import type { Server } from 'node:http';
import { duplexPair, Readable } from 'node:stream';
import { Server as TlsServer } from 'node:tls';

export interface InProcessFetchOpts {
  /**
   * The credential headers every call carries, in place of any the client would add: the MCP caller's
   * own `X-API-Key` or `Authorization`, exactly as presented (none under `--dev-auth`).
   */
  credential: Record<string, string>;
  /** The MCP caller's address: the router's per-address limits and the audit see it, not loopback. */
  remoteAddress: string | undefined;
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'cookie']);

/**
 * A `fetch` that sends each request to `server` itself, over an in-memory connection handed to the
 * server as if it had been accepted: the request is parsed, guarded, authenticated, authorised,
 * rate-limited and audited exactly like one from the network, with the caller's credential and address.
 * Nothing listens and nothing leaves the process. Aborting a call closes its connection, which the
 * route sees as a client going away (an exec is killed, a stream stops).
 */
export function inProcessFetch(server: Server, opts: InProcessFetchOpts): typeof fetch {
  return async (input, init) => {
    const request = new Request(input, init);
    request.signal.throwIfAborted();
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      if (!CREDENTIAL_HEADERS.has(name)) headers[name] = value;
    });
    Object.assign(headers, opts.credential);
    // Loopback is an allowed Host on every router (never a preview host): the request is the API's.
    headers.host = '127.0.0.1';
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;

    const [clientEnd, serverEnd] = duplexPair();
    Object.defineProperty(serverEnd, 'remoteAddress', { value: opts.remoteAddress });
    // An HTTPS router parses plain HTTP on a connection handed over after the TLS handshake.
    server.emit(server instanceof TlsServer ? 'secureConnection' : 'connection', serverEnd);

    return new Promise<Response>((resolve, reject) => {
      const req = httpRequest({
        method: request.method,
        path: url.pathname + url.search,
        headers,
        createConnection: () => clientEnd as never,
      });
      const abort = () => req.destroy(request.signal.reason as Error);
      request.signal.addEventListener('abort', abort, { once: true });
      req.once('error', (err) => {
        request.signal.removeEventListener('abort', abort);
        reject(err);
      });
      req.once('response', (res) => {
        res.once('close', () => request.signal.removeEventListener('abort', abort));
        const out = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2)
          out.append(res.rawHeaders[i]!, res.rawHeaders[i + 1]!);
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || request.method === 'HEAD';
        if (empty) res.resume();
        resolve(
          new Response(empty ? null : (Readable.toWeb(res) as ReadableStream<Uint8Array>), {
            status,
            statusText: res.statusMessage ?? '',
            headers: out,
          }),
        );
      });
      req.end(body);
    });
  };
}
