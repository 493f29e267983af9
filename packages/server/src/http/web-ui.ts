import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@agenttier/contract';

/**
 * The web UI (packages/web) served by the router at `/`: the built files from memory, the SPA's
 * index.html for client routes, never for `/api/` or `/ws/` (those stay JSON 404s). See docs/web-ui.md.
 */
export interface WebUiOpts {
  /** Directory holding the built app (`index.html`, `assets/`): `npm run build -w @agenttier/web`. */
  root: string;
}

/** packages/web/dist beside this package, unless AGENTTIER_WEB_ROOT names another directory. */
export function defaultWebUiRoot(env: Record<string, string | undefined> = process.env): string {
  const given = env.AGENTTIER_WEB_ROOT?.trim();
  return given ? given : fileURLToPath(new URL('../../../web/dist/', import.meta.url));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.wasm': 'application/wasm',
};
/** The page's `<meta name="csp-nonce" content="">`, filled per response. */
const NONCE_META = /(<meta name="csp-nonce" content=")"/;
const COMPRESSIBLE = new Set(['.js', '.css', '.json', '.map', '.svg', '.txt']);

interface Asset {
  body: Buffer;
  gzip?: Buffer;
  type: string;
  /** Vite puts content-hashed files under assets/: their URL changes whenever their bytes do. */
  immutable: boolean;
}

/** Reads every file under `root` once (the build is a few hundred KiB); undefined when not built. */
function loadAssets(root: string): Map<string, Asset> | undefined {
  if (!existsSync(join(root, 'index.html'))) return undefined;
  const assets = new Map<string, Asset>();
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      if (name.startsWith('.')) continue; // .vite/manifest.json: build metadata, not part of the app
      const full = join(dir, name);
      if (statSync(full).isDirectory()) {
        walk(full);
        continue;
      }
      const ext = extname(name).toLowerCase();
      const type = TYPES[ext];
      if (!type) continue; // only known types: nothing is ever sent with a guessed Content-Type
      const url = '/' + relative(root, full).split(sep).join('/');
      const body = readFileSync(full);
      assets.set(url, {
        body,
        type,
        immutable: url.startsWith('/assets/'),
        ...(COMPRESSIBLE.has(ext) && body.length > 1024 ? { gzip: gzipSync(body, { level: 9 }) } : {}),
      });
    }
  };
  walk(root);
  return assets;
}

/**
 * The page's Content-Security-Policy: scripts, styles and connections only from the router itself (its
 * WebSockets included, named with the Host the browser used); no inline script or style, no plugins, no
 * framing, no `<base>` and forms only to itself. Sandbox content never runs here: previews have their
 * own origins (docs/security.md#previews). `styleNonce` admits the `<style>` elements the editor and
 * terminal libraries create (CodeMirror, xterm.js): a fresh random value per page load, handed to the
 * app in `<meta name="csp-nonce">`; scripts get no nonce at all.
 */
export function contentSecurityPolicy(host: string | undefined, styleNonce?: string): string {
  const ws = host ? ` ws://${host} wss://${host}` : '';
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src 'self'${styleNonce ? ` 'nonce-${styleNonce}'` : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${ws}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    "frame-ancestors 'none'",
    "object-src 'none'",
  ].join('; ');
}

function notFound(req: FastifyRequest, path: string): PlatformError {
  return new PlatformError('NOT_FOUND', `no route for ${req.method} ${path}; see docs/api.md`);
}

/** Registers `GET /` and `GET /*` (HEAD too). Without `opts` every such path is the usual JSON 404. */
export function registerWebUi(app: FastifyInstance, opts: WebUiOpts | undefined): void {
  const assets = opts ? loadAssets(opts.root) : undefined;
  if (opts && !assets)
    app.log.warn({ root: opts.root }, 'web UI not built: run `npm run build -w @agenttier/web`');

  const send = (req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply => {
    void reply
      .type(asset.type)
      .header('cache-control', asset.immutable ? 'public, max-age=31536000, immutable' : 'no-cache')
      .header('vary', 'accept-encoding');
    if (asset.type.startsWith('text/html')) {
      // A new style nonce per load (docs/security.md#web-ui-page); HTML is small and never gzipped.
      const nonce = randomBytes(16).toString('base64');
      void reply
        .header('content-security-policy', contentSecurityPolicy(req.headers.host, nonce))
        .header('x-frame-options', 'DENY')
        .header('referrer-policy', 'no-referrer')
        .header('cross-origin-opener-policy', 'same-origin');
      return reply.send(asset.body.toString('utf8').replace(NONCE_META, `$1${nonce}"`));
    }
    const gz = asset.gzip && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    if (gz) void reply.header('content-encoding', 'gzip');
    return reply.send(gz ? asset.gzip : asset.body);
  };

  const handler = async (req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const path = req.url.split('?')[0]!;
    // The API and WebSocket prefixes never fall back to the app: a typo there is a JSON 404.
    if (/^\/(api|ws)(\/|$)/.test(path) || !opts) throw notFound(req, path);
    // Not a server fault a caller could wait out, and never a 5xx for whatever path a scanner tries.
    if (!assets)
      throw new PlatformError(
        'NOT_FOUND',
        'the web UI is not built on this server: run `npm run build -w @agenttier/web` and restart',
      );
    const asset = assets.get(path === '/' ? '/index.html' : path);
    if (asset) return send(req, reply, asset);
    // A missing file (an old hashed chunk, a typo) is a 404, never index.html served as a script.
    if (path.startsWith('/assets/') || /\.[a-z0-9]+$/i.test(path)) throw notFound(req, path);
    return send(req, reply, assets.get('/index.html')!); // a client-side route: the SPA decides
  };
  app.get('/', handler);
  app.get('/*', handler);
}
