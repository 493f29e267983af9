import type * as Fs from 'node:fs';
import type * as Os from 'node:os';
import type * as Path from 'node:path';
import { maybeNodeModule } from './node-only.ts';
import type { WebSocketConstructor } from './websocket.ts';

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';
export const DEFAULT_TIMEOUT_MS = 60_000;

/** Options for {@link AgentTier}. Precedence: the option, then the environment variable, then the default. */
export interface AgentTierOpts {
  /**
   * Base URL of the AgentTier server, without `/api/v1`.
   * @default AGENTTIER_API_URL // environment variable, else 'http://127.0.0.1:8080'
   */
  apiUrl?: string;
  /**
   * API key, sent as `X-API-Key`. Wins over `token` when both are set.
   * @default AGENTTIER_API_KEY // environment variable
   */
  apiKey?: string;
  /**
   * Bearer token (OIDC JWT), sent as `Authorization: Bearer …`.
   * @default AGENTTIER_TOKEN // environment variable
   */
  token?: string;
  /**
   * The `fetch` to use (tests, proxies, custom agents).
   * @default globalThis.fetch
   */
  fetch?: typeof fetch;
  /**
   * The WebSocket class for terminals and TCP tunnels: anything shaped like the WHATWG `WebSocket`
   * whose constructor takes `(url, { headers })` — Node's global one (Node 22+) or the `ws` package's
   * (which also reports the HTTP status of a refused upgrade).
   * @default globalThis.WebSocket
   */
  WebSocket?: WebSocketConstructor;
  /**
   * How long one request may take before it fails with `TimeoutError`. For downloads and streams this
   * bounds the wait for response headers only; the body may take as long as it needs.
   * @default 60000
   */
  timeoutMs?: number;
  /**
   * Where the environment fallbacks are read from. Mostly for tests and embedding.
   * @default process.env
   */
  env?: Record<string, string | undefined>;
  /**
   * Extra headers sent with every request (e.g. a proxy's auth header).
   * @default {}
   */
  headers?: Record<string, string>;
}

export interface ResolvedOpts {
  apiUrl: string;
  apiKey: string | undefined;
  token: string | undefined;
  /**
   * Last link of the credential chain: a file holding a bearer token, read again on every request
   * because the kubelet rotates projected ServiceAccount tokens in place.
   */
  tokenFile: string | undefined;
  fetch: typeof fetch;
  /** Undefined when the runtime has none and none was passed; WebSocket features then throw. */
  WebSocket: WebSocketConstructor | undefined;
  timeoutMs: number;
  headers: Record<string, string>;
}

/** `api_key` and `token` of the CLI config (`AGENTTIER_CONFIG`, else ~/.config/agenttier/config.json). */
function cliConfigCredentials(
  env: Record<string, string | undefined>,
): { apiKey?: string; token?: string } | undefined {
  const fs = maybeNodeModule<typeof Fs>('node:fs');
  const os = maybeNodeModule<typeof Os>('node:os');
  const pathMod = maybeNodeModule<typeof Path>('node:path');
  if (!fs || !os || !pathMod) return undefined; // a browser: no config file, the session cookie is the credential
  const path =
    nonEmpty(env.AGENTTIER_CONFIG) ?? pathMod.join(os.homedir(), '.config', 'agenttier', 'config.json');
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(path, 'utf8'));
  } catch {
    return undefined; // no file or not JSON: the CLI reports those; a client just has no saved key
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const { api_key: apiKey, token } = parsed as { api_key?: unknown; token?: unknown };
  const out: { apiKey?: string; token?: string } = {};
  if (typeof apiKey === 'string' && nonEmpty(apiKey)) out.apiKey = apiKey.trim();
  if (typeof token === 'string' && nonEmpty(token)) out.token = token.trim();
  return out;
}

/**
 * Where an in-cluster agent's ServiceAccount token for the router's audience is mounted by default: a
 * projected volume (`serviceAccountToken: {audience: agenttier, path: token}`) at this directory.
 * The pod's default token is not used: it is minted for the API server, and the router refuses it.
 */
export const DEFAULT_TOKEN_FILE = '/var/run/secrets/agenttier/token';

/** AGENTTIER_TOKEN_FILE, else the default mount when it exists (Node only). */
function serviceAccountTokenFile(env: Record<string, string | undefined>): string | undefined {
  const named = nonEmpty(env.AGENTTIER_TOKEN_FILE);
  if (named) return named;
  const fs = maybeNodeModule<typeof Fs>('node:fs');
  return fs?.existsSync(DEFAULT_TOKEN_FILE) ? DEFAULT_TOKEN_FILE : undefined;
}

/** The token in `path` now, or undefined when it cannot be read (the server then answers 401). */
export function readTokenFile(path: string): string | undefined {
  const fs = maybeNodeModule<typeof Fs>('node:fs');
  try {
    return nonEmpty(fs?.readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

/** Applies option → env → default, and normalises the URL (no trailing slash, no `/api/v1`). */
export function resolveOpts(opts: AgentTierOpts = {}): ResolvedOpts {
  const env = opts.env ?? (typeof process !== 'undefined' ? process.env : {});
  const rawUrl = nonEmpty(opts.apiUrl) ?? nonEmpty(env.AGENTTIER_API_URL) ?? DEFAULT_API_URL;
  let apiUrl: string;
  try {
    const url = new URL(rawUrl);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('not http');
    apiUrl = url.toString();
  } catch {
    throw new TypeError(
      `invalid AgentTier API URL "${rawUrl}": expected something like http://127.0.0.1:8080 (check apiUrl / AGENTTIER_API_URL)`,
    );
  }
  apiUrl = apiUrl.replace(/\/+$/, '').replace(/\/api\/v1$/, '');

  // Explicit credentials win as a pair over the environment, so an explicit token is not shadowed
  // by an API key that happens to be exported in the shell.
  const explicit = nonEmpty(opts.apiKey) !== undefined || nonEmpty(opts.token) !== undefined;
  const fromEnv =
    nonEmpty(env.AGENTTIER_API_KEY) !== undefined || nonEmpty(env.AGENTTIER_TOKEN) !== undefined;
  // Last: the CLI's config file (where `agenttier up` saves its admin key). Only read when the
  // process environment is in use or AGENTTIER_CONFIG names the file, so `env: {}` isolates a client.
  const saved =
    explicit || fromEnv || (opts.env && !opts.env.AGENTTIER_CONFIG) ? undefined : cliConfigCredentials(env);
  const apiKey = explicit ? nonEmpty(opts.apiKey) : fromEnv ? nonEmpty(env.AGENTTIER_API_KEY) : saved?.apiKey;
  const token = explicit ? nonEmpty(opts.token) : fromEnv ? nonEmpty(env.AGENTTIER_TOKEN) : saved?.token;
  // An in-cluster ServiceAccount token only when nothing above gave a credential; `env: {}` still isolates.
  const tokenFile =
    apiKey || token || (opts.env && !opts.env.AGENTTIER_TOKEN_FILE)
      ? undefined
      : serviceAccountTokenFile(env);

  // Bound: a browser's fetch called as a method of another object throws "Illegal invocation".
  const fetchImpl = opts.fetch ?? globalThis.fetch?.bind(globalThis);
  if (typeof fetchImpl !== 'function') {
    throw new TypeError('no fetch implementation: use Node 18+ or pass { fetch } to new AgentTier()');
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (!(timeoutMs > 0))
    throw new TypeError(`timeoutMs must be a positive number of milliseconds, got ${timeoutMs}`);
  const WebSocketImpl = opts.WebSocket ?? (globalThis as { WebSocket?: unknown }).WebSocket ?? undefined;
  return {
    apiUrl,
    apiKey,
    token,
    tokenFile,
    fetch: fetchImpl,
    WebSocket: WebSocketImpl as WebSocketConstructor | undefined,
    timeoutMs,
    headers: { ...opts.headers },
  };
}
