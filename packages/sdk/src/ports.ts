import type { HttpClient, Query } from './http.ts';
import { encodePath } from './http.ts';
import type { PreviewLink } from '@agenttier/contract';
import type { CallOpts } from './types.ts';
import type { PortView } from '@agenttier/contract';
import type { WebSocketChannel } from './websocket.ts';
import { openWebSocket, toWebSocketUrl } from './websocket.ts';

function checkPort(port: number): number {
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new TypeError(`port must be a whole number between 1 and 65535, got ${port}`);
  }
  return port;
}

/**
 * Ports of one sandbox (`sandbox.ports`). A forwarded port is reachable through the preview proxy on
 * its own origin (`http://{port}-{sandbox}--{namespace}.localhost:8080/`, HTTP and WebSocket) even
 * though the sandbox itself has no network.
 */
export class SandboxPorts {
  /** @internal */
  constructor(
    private readonly http: HttpClient,
    private readonly name: () => string,
    private readonly query: () => Query,
    private readonly diagnose: (opts: CallOpts) => Promise<void>,
  ) {}

  private get basePath(): string {
    return `/api/v1/sandboxes/${encodePath(this.name())}`;
  }

  /**
   * Forwarded ports, with whether something listens on each.
   * @example
   * ```ts
   * for (const p of await sandbox.ports.list()) console.log(p.port, p.listening, p.previewUrl);
   * ```
   */
  async list(opts: CallOpts = {}): Promise<PortView[]> {
    const res = await this.http.json<{ ports?: PortView[] | null }>({
      method: 'GET',
      path: `${this.basePath}/ports`,
      query: this.query(),
      signal: opts.signal,
    });
    return res?.ports ?? [];
  }

  /**
   * Forwards a port (idempotent) and returns its preview URL.
   * @example
   * ```ts
   * const { previewUrl } = await sandbox.ports.forward(8000);
   * console.log(`open ${previewUrl} in a browser`);
   * ```
   */
  async forward(
    port: number,
    opts: CallOpts & { protocol?: 'http' | 'tcp'; name?: string } = {},
  ): Promise<PortView> {
    return this.http.json<PortView>({
      method: 'POST',
      path: `${this.basePath}/ports`,
      query: this.query(),
      json: {
        port: checkPort(port),
        ...(opts.protocol ? { protocol: opts.protocol } : {}),
        ...(opts.name ? { name: opts.name } : {}),
      },
      signal: opts.signal,
    });
  }

  /**
   * Stops forwarding a port, by number (idempotent) or by the name it was forwarded with (a name
   * no forward has is NOT_FOUND).
   * @example
   * ```ts
   * await sandbox.ports.remove(8000);
   * await sandbox.ports.remove('web');
   * ```
   */
  async remove(port: number | string, opts: CallOpts = {}): Promise<void> {
    await this.http.json({
      method: 'DELETE',
      path: `${this.basePath}/ports/${typeof port === 'number' ? checkPort(port) : encodePath(port)}`,
      query: this.query(),
      signal: opts.signal,
    });
  }

  /**
   * The preview URL of a port, computed locally (the port must be forwarded for it to answer). Each
   * sandbox port is its own origin, `{port}-{sandbox}--{namespace}` below a domain: `*.localhost` on
   * the API's port for an API on loopback (browsers resolve `*.localhost` to loopback; Node does not,
   * so from Node use `connect()` or `agenttier sandbox port-forward`), else below the API's host name.
   * A server with another preview domain says so in the `previewUrl` of `list()` and `forward()`,
   * which is authoritative. `path` is appended below the origin.
   * @example
   * ```ts
   * await sandbox.ports.forward(3000);
   * console.log(`open ${sandbox.ports.previewUrl(3000, '/app')} in a browser`);
   * ```
   */
  previewUrl(port: number, path = '/'): string {
    const rest = path.startsWith('/') ? path : `/${path}`;
    const api = new URL(this.http.apiUrl);
    const namespace = String(this.query().namespace ?? '') || 'default';
    // Names with `--` use the escaped form (each `-` as `-1`, after a `--`), like the server.
    const name = this.name();
    const label = name.includes('--')
      ? `${checkPort(port)}--${name.replace(/-/g, '-1')}--${namespace}`
      : `${checkPort(port)}-${name}--${namespace}`;
    const loopback = ['localhost', '127.0.0.1', '[::1]'].includes(api.hostname);
    const domain = loopback ? 'localhost' : api.hostname;
    return `${api.protocol}//${label}.${domain}${api.port ? `:${api.port}` : ''}${rest}`;
  }

  /**
   * A single-use link (valid 60 s) that opens the preview of a forwarded port in a browser when the
   * server requires API keys: a browser cannot send a key with a page load, so the preview origin
   * swaps the link for a session cookie good for this sandbox port only, and redirects to `path`.
   * @example
   * ```ts
   * const { url } = await sandbox.ports.previewLink(3000, { path: '/app' });
   * console.log(`open ${url} in a browser`);
   * ```
   */
  async previewLink(port: number, opts: CallOpts & { path?: string } = {}): Promise<PreviewLink> {
    return this.http.json<PreviewLink>({
      method: 'POST',
      path: `${this.basePath}/ports/${checkPort(port)}/preview-link`,
      query: this.query(),
      json: opts.path !== undefined ? { path: opts.path } : {},
      signal: opts.signal,
    });
  }

  /** The `ws(s)://` URL of the raw TCP tunnel to `port` (`/ws/tcp/{name}/{port}`). */
  tunnelUrl(port: number): string {
    return toWebSocketUrl(
      this.http.url(`/ws/tcp/${encodePath(this.name())}/${checkPort(port)}`, this.query()),
    );
  }

  /**
   * Opens a raw TCP connection to `127.0.0.1:port` inside the sandbox, carried in binary WebSocket
   * frames (`GET /ws/tcp/{name}/{port}`). Any protocol works and the port need not be forwarded.
   * Closing the channel closes the connection. Servers without the route refuse with NotFoundError
   * (code `NOT_FOUND`); nothing listening gives a 502 (`UPSTREAM_UNREACHABLE`).
   * @example
   * ```ts
   * const tunnel = await sandbox.ports.connect(5432);
   * tunnel.onMessage((bytes) => socket.write(bytes));
   * socket.on('data', (chunk) => tunnel.send(chunk));
   * ```
   */
  async connect(port: number, opts: CallOpts = {}): Promise<WebSocketChannel> {
    return openWebSocket(this.http, {
      path: `/ws/tcp/${encodePath(this.name())}/${checkPort(port)}`,
      query: this.query(),
      signal: opts.signal,
      what: `a TCP tunnel to port ${port} of sandbox "${this.name()}"`,
      diagnose: () => this.diagnose(opts),
    });
  }
}
