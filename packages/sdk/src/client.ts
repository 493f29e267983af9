import type {
  ApiKeyView,
  AuthMethods,
  AuditEventPage,
  CreatedApiKey,
  SandboxView,
  ScopedKeyVerb,
  SessionLoginResult,
  UserInfo,
} from '@agenttier/contract';
import { HttpClient } from './http.ts';
import type { AgentTierOpts } from './options.ts';
import { resolveOpts } from './options.ts';
import { Sandbox, normalizeSandboxView } from './sandbox.ts';
import { Templates } from './templates.ts';
import { Secrets } from './secrets.ts';
import type { CallOpts, CreateSandboxOpts, ListAuditEventsOpts, ListSandboxesOpts } from './types.ts';
import { encodePath } from './http.ts';

/**
 * The AgentTier client. Talks to `<apiUrl>/api/v1` with global `fetch`.
 *
 * @example
 * ```ts
 * import { AgentTier } from '@agenttier/sdk';
 *
 * const client = new AgentTier(); // AGENTTIER_API_URL, AGENTTIER_API_KEY / AGENTTIER_TOKEN
 * const sandbox = await client.createSandbox({ name: 'demo', template: 'general-coding' });
 * await sandbox.waitUntilRunning();
 * console.log((await sandbox.exec('echo hello')).stdout);
 * await sandbox.delete();
 * ```
 */
export class AgentTier {
  /** Template management. */
  readonly templates: Templates;
  /** Your secrets for sandbox `credentials` (local platform). */
  readonly secrets: Secrets;
  /** @internal */
  readonly http: HttpClient;

  constructor(opts: AgentTierOpts = {}) {
    this.http = new HttpClient(resolveOpts(opts));
    this.templates = new Templates(this.http);
    this.secrets = new Secrets(this.http);
  }

  /** The server base URL in use (after option/env/default resolution). */
  get apiUrl(): string {
    return this.http.apiUrl;
  }

  /**
   * Creates a sandbox and returns its handle right away (phase Creating); call
   * `waitUntilRunning()` to wait for it.
   * @example
   * ```ts
   * const sandbox = await client.createSandbox({
   *   name: 'demo',
   *   template: 'general-coding',
   *   idleTimeout: '30m',
   *   env: { DEBUG: '1' },
   * });
   * ```
   */
  async createSandbox(opts: CreateSandboxOpts): Promise<Sandbox> {
    const env = Array.isArray(opts.env)
      ? opts.env
      : opts.env
        ? Object.entries(opts.env).map(([name, value]) => ({ name, value }))
        : undefined;
    const body = {
      name: opts.name,
      ...(opts.namespace ? { namespace: opts.namespace } : {}),
      templateRef: { name: opts.template, ...(opts.templateKind ? { kind: opts.templateKind } : {}) },
      ...(opts.mode ? { mode: opts.mode } : {}),
      ...(opts.timeout ? { timeout: opts.timeout } : {}),
      ...(opts.idleTimeout ? { idleTimeout: opts.idleTimeout } : {}),
      ...(opts.storageSize ? { storage: { size: opts.storageSize } } : {}),
      ...(opts.resources ? { resources: opts.resources } : {}),
      ...(env ? { env } : {}),
      ...(opts.credentials ? { credentials: opts.credentials } : {}),
      ...(opts.labels ? { labels: opts.labels } : {}),
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
    };
    const raw = await this.http.json<SandboxView>({
      method: 'POST',
      path: '/api/v1/sandboxes',
      json: body,
      signal: opts.signal,
    });
    return new Sandbox(
      this.http,
      normalizeSandboxView({ ...raw, name: raw?.name || opts.name }),
      opts.namespace,
    );
  }

  /**
   * Looks a sandbox up by name; throws NotFoundError when there is none.
   * @example
   * ```ts
   * const sandbox = await client.getSandbox('demo');
   * console.log(sandbox.status);
   * ```
   */
  async getSandbox(name: string, opts: CallOpts & { namespace?: string } = {}): Promise<Sandbox> {
    const raw = await this.http.json<SandboxView>({
      method: 'GET',
      path: `/api/v1/sandboxes/${encodePath(name)}`,
      query: opts.namespace ? { namespace: opts.namespace } : {},
      signal: opts.signal,
    });
    return new Sandbox(this.http, normalizeSandboxView(raw), opts.namespace);
  }

  /**
   * Lists sandboxes you can see, optionally filtered.
   * @example
   * ```ts
   * const running = await client.listSandboxes({ status: 'Running' });
   * console.log(running.map((s) => s.name));
   * ```
   */
  async listSandboxes(opts: ListSandboxesOpts = {}): Promise<Sandbox[]> {
    const res = await this.http.json<{ sandboxes?: SandboxView[] | null }>({
      method: 'GET',
      path: '/api/v1/sandboxes',
      query: { namespace: opts.namespace, status: opts.status },
      signal: opts.signal,
    });
    return (res?.sandboxes ?? []).map((raw) => new Sandbox(this.http, normalizeSandboxView(raw)));
  }

  /**
   * A handle for a sandbox you know by name, without a request. Its `status` is unknown until
   * `refresh()`.
   * @example
   * ```ts
   * await client.sandbox('demo').stop();
   * ```
   */
  sandbox(name: string, opts: { namespace?: string } = {}): Sandbox {
    return new Sandbox(
      this.http,
      normalizeSandboxView({ name, namespace: opts.namespace ?? '' }, 'Unknown'),
      opts.namespace,
    );
  }

  /**
   * Who the server takes this client to be (`GET /api/v1/user/me`).
   * @example
   * ```ts
   * const me = await client.currentUser();
   * console.log(me.id, me.isAdmin);
   * ```
   */
  async currentUser(opts: CallOpts = {}): Promise<UserInfo> {
    return this.http.json<UserInfo>({ method: 'GET', path: '/api/v1/user/me', signal: opts.signal });
  }

  /**
   * Creates an API key acting as you. The key is in this response only; keep it.
   * @example
   * ```ts
   * const { key } = await client.createApiKey({ name: 'ci', expiresInDays: 30 });
   * // A key for an agent that may only run commands and use files in one sandbox:
   * const agentKey = await client.createApiKey({ name: 'agent', sandbox: 'my-box', verbs: ['exec', 'files'] });
   * ```
   */
  async createApiKey(
    opts: CallOpts & {
      name: string;
      expiresInDays?: number;
      /** Limits the key to this sandbox (with `verbs`): it can do nothing else. */
      sandbox?: string;
      namespace?: string;
      verbs?: ScopedKeyVerb[];
    },
  ): Promise<CreatedApiKey> {
    return this.http.json<CreatedApiKey>({
      method: 'POST',
      path: '/api/v1/user/api-keys',
      json: {
        name: opts.name,
        ...(opts.expiresInDays ? { expiresInDays: opts.expiresInDays } : {}),
        ...(opts.sandbox !== undefined ? { sandbox: opts.sandbox } : {}),
        ...(opts.namespace !== undefined ? { namespace: opts.namespace } : {}),
        ...(opts.verbs !== undefined ? { verbs: opts.verbs } : {}),
      },
      signal: opts.signal,
    });
  }

  /** Your API keys (never the keys themselves); `all: true` lists everyone's (admins only). */
  async listApiKeys(opts: CallOpts & { all?: boolean } = {}): Promise<ApiKeyView[]> {
    const res = await this.http.json<{ items?: ApiKeyView[] | null }>({
      method: 'GET',
      path: '/api/v1/user/api-keys',
      query: opts.all ? { all: 'true' } : {},
      signal: opts.signal,
    });
    return res?.items ?? [];
  }

  /** Revokes an API key by its id (`key_…`) at once: your own, or anyone's for admins. */
  async revokeApiKey(keyId: string, opts: CallOpts = {}): Promise<void> {
    await this.http.json<unknown>({
      method: 'DELETE',
      path: `/api/v1/user/api-keys/${encodePath(keyId)}`,
      signal: opts.signal,
    });
  }

  /**
   * How this server lets a browser sign in (`GET /api/v1/auth/methods`, no credential needed).
   * @example
   * ```ts
   * const { apiKey, oidc, oidcLoginUrl } = await client.authMethods();
   * ```
   */
  async authMethods(opts: CallOpts = {}): Promise<AuthMethods> {
    return this.http.json<AuthMethods>({ method: 'GET', path: '/api/v1/auth/methods', signal: opts.signal });
  }

  /**
   * Browser sign-in: swaps an API key for a session cookie (`POST /api/v1/auth/session`), which the
   * browser then sends by itself (HttpOnly: no script can read it). For web pages; programs send the
   * key itself. The cookie counts only next to the session's `binding` (docs/auth.md, "Session
   * binding"): the `X-AgentTier-Session-Binding` header this client sends (its `headers` option or its
   * `fetch`), else a new value the answer carries; every later request must send it.
   */
  async startSession(apiKey: string, opts: CallOpts = {}): Promise<SessionLoginResult> {
    return this.http.json<SessionLoginResult>({
      method: 'POST',
      path: '/api/v1/auth/session',
      json: { apiKey },
      signal: opts.signal,
    });
  }

  /** Browser sign-out: ends the session and clears its cookie (`DELETE /api/v1/auth/session`). */
  async endSession(opts: CallOpts = {}): Promise<void> {
    await this.http.json<unknown>({ method: 'DELETE', path: '/api/v1/auth/session', signal: opts.signal });
  }

  /**
   * The audit trail, newest first (`GET /api/v1/audit/events`): your own calls, anyone's for admins.
   * @example
   * ```ts
   * const { events } = await client.listAuditEvents({ target: 'sandbox:default/demo', limit: 20 });
   * ```
   */
  async listAuditEvents(opts: ListAuditEventsOpts = {}): Promise<AuditEventPage> {
    const res = await this.http.json<{ events?: AuditEventPage['events'] | null; next?: number }>({
      method: 'GET',
      path: '/api/v1/audit/events',
      query: {
        actor: opts.actor,
        target: opts.target,
        limit: opts.limit,
        before: opts.before,
      },
      signal: opts.signal,
    });
    return { events: res?.events ?? [], ...(res?.next !== undefined ? { next: res.next } : {}) };
  }

  /**
   * Checks that the server answers `GET /healthz`. Throws ConnectionError when it does not.
   * @example
   * ```ts
   * await client.health();
   * ```
   */
  async health(opts: CallOpts = {}): Promise<void> {
    await this.http.call({ method: 'GET', path: '/healthz', signal: opts.signal }, async (res) => {
      await res.arrayBuffer();
    });
  }
}
