import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { PlatformError } from '@agenttier/contract';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { AuthInfo } from '@modelcontextprotocol/sdk/server/auth/types.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

/** Bounds of the sessions one server keeps (docs/mcp.md). */
export interface McpSessionLimits {
  /** Sessions open at once, all callers together; one more is refused with 503. @default 256 */
  maxSessions?: number;
  /**
   * Sessions one user may hold, with all their keys and tokens together (else a user minting keys
   * fills `maxSessions` alone); a new one past this closes the user's least recently used idle
   * session, and is refused with 429 (RATE_LIMITED) when every one of them is busy. @default 16
   */
  maxSessionsPerOwner?: number;
  /** A session without a request for this long is closed (its next request gets 404). @default 15 min */
  idleTimeoutMs?: number;
}

export const MCP_SESSION_DEFAULTS: Required<McpSessionLimits> = {
  maxSessions: 256,
  maxSessionsPerOwner: 16,
  idleTimeoutMs: 15 * 60_000,
};

/** One MCP session: its server, its transport, who opened it and when it was last used. */
export interface McpSession {
  readonly id: string;
  readonly owner: string;
  /** Whose quota it counts against: the user behind `owner`, whichever credential it used. */
  readonly user: string;
  readonly server: McpServer;
  readonly transport: StreamableHTTPServerTransport;
  lastUsedMs: number;
  /** Requests of this session being answered now; a busy session is never idle. */
  inflight: number;
}

const SESSION_HEADER = 'mcp-session-id';

function isInitialize(body: unknown): boolean {
  return Array.isArray(body) ? body.some((m) => isInitializeRequest(m)) : isInitializeRequest(body);
}

/**
 * Stateful MCP sessions over streamable HTTP, bounded in number and idle time, each bound to the
 * caller that opened it: a request naming a session someone else opened is answered as if the session
 * did not exist. The session holds no credential: every request brings its own (`auth`), which its tool
 * calls act with.
 */
export class McpSessions {
  private readonly sessions = new Map<string, McpSession>();
  private readonly limits: Required<McpSessionLimits>;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly newServer: () => McpServer,
    limits: McpSessionLimits = {},
    private readonly now: () => number = Date.now,
  ) {
    this.limits = { ...MCP_SESSION_DEFAULTS, ...limits };
    for (const [k, v] of Object.entries(this.limits))
      if (!(Number.isInteger(v) && v > 0)) throw new TypeError(`MCP session ${k} must be a positive integer`);
    const every = Math.max(1000, Math.min(60_000, Math.floor(this.limits.idleTimeoutMs / 2)));
    this.sweeper = setInterval(() => void this.sweep(), every);
    this.sweeper.unref();
  }

  get size(): number {
    return this.sessions.size;
  }

  /**
   * The session a request belongs to: the one its `Mcp-Session-Id` names (opened by `owner`), or a
   * new one for an `initialize` without that header, counted against `user`'s quota. Throws the
   * refusal in the router's error shape.
   */
  async open(
    headers: IncomingMessage['headers'],
    body: unknown,
    owner: string,
    user: string = owner,
  ): Promise<McpSession> {
    await this.sweep();
    const raw = headers[SESSION_HEADER];
    if (Array.isArray(raw)) throw new PlatformError('BAD_REQUEST', 'send one Mcp-Session-Id header');
    if (raw !== undefined) {
      const found = this.sessions.get(raw);
      // Someone else's session is as absent as an expired one: no telling which ids exist.
      if (!found || found.owner !== owner)
        throw new PlatformError(
          'NOT_FOUND',
          'no such MCP session (it ended, expired after being idle, or was opened with another credential); start a new one with initialize',
        );
      return found;
    }
    if (!isInitialize(body))
      throw new PlatformError(
        'BAD_REQUEST',
        'no Mcp-Session-Id header: start a session with an initialize request, then send its id with every request',
      );
    await this.makeRoom(user);
    return await this.create(owner, user);
  }

  /** Answers one HTTP request of `session`; `auth.extra` carries what its tool calls act with. */
  async serve(
    session: McpSession,
    req: IncomingMessage,
    res: ServerResponse,
    body: unknown,
    auth: AuthInfo,
  ): Promise<void> {
    session.inflight++;
    session.lastUsedMs = this.now();
    res.once('close', () => {
      session.inflight--;
      session.lastUsedMs = this.now();
      // An initialize the transport refused leaves a session that never started.
      if (session.transport.sessionId === undefined) void this.close(session.id);
    });
    await session.transport.handleRequest(Object.assign(req, { auth }), res, body);
  }

  async close(id: string): Promise<void> {
    const s = this.sessions.get(id);
    if (!s) return;
    this.sessions.delete(id);
    await s.server.close().catch(() => undefined);
  }

  async closeAll(): Promise<void> {
    clearInterval(this.sweeper);
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }

  /** Closes every session idle for longer than the idle timeout. */
  async sweep(): Promise<void> {
    const cutoff = this.now() - this.limits.idleTimeoutMs;
    const stale = [...this.sessions.values()].filter((s) => s.inflight === 0 && s.lastUsedMs <= cutoff);
    await Promise.all(stale.map((s) => this.close(s.id)));
  }

  /** Closes the user's least recently used idle session when the user is at the cap. */
  private async makeRoom(user: string): Promise<void> {
    const own = this.heldBy(user);
    if (own.length < this.limits.maxSessionsPerOwner) return;
    const idle = own.filter((s) => s.inflight === 0).sort((a, b) => a.lastUsedMs - b.lastUsedMs)[0];
    if (idle) await this.close(idle.id);
  }

  private heldBy(user: string): McpSession[] {
    return [...this.sessions.values()].filter((s) => s.user === user);
  }

  private async create(owner: string, user: string): Promise<McpSession> {
    // Checked again after makeRoom's awaits, right before the insert: concurrent initializes of one
    // caller must not slip past the caps together.
    const own = this.heldBy(user).length;
    if (own >= this.limits.maxSessionsPerOwner)
      throw new PlatformError(
        'RATE_LIMITED',
        `you have ${own} MCP sessions, all busy (at most ${this.limits.maxSessionsPerOwner}); end one (DELETE /mcp) or wait for a call to finish`,
        { headers: { 'retry-after': '1' } },
      );
    if (this.sessions.size >= this.limits.maxSessions)
      throw new PlatformError(
        'UNAVAILABLE',
        `the router holds ${this.sessions.size} MCP sessions, its limit; retry after idle ones expire`,
        { headers: { 'retry-after': '30' } },
      );
    const id = randomUUID();
    const server = this.newServer();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      onsessionclosed: () => void this.close(id), // DELETE /mcp
    });
    const session: McpSession = { id, owner, user, server, transport, lastUsedMs: this.now(), inflight: 0 };
    this.sessions.set(id, session);
    await server.connect(transport);
    return session;
  }
}
