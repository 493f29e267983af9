import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { PlatformError } from '@agenttier/contract';
import { createMcpServer, McpSessions, type McpSessionLimits, type ToolExtra } from '@agenttier/mcp';
import { AgentTier } from '@agenttier/sdk';
import type { Identity } from '../context.ts';
import { toWireError } from '../errors.ts';
import { inProcessFetch } from '../mcp/in-process-fetch.ts';

/** The router's own MCP endpoint (docs/mcp.md): session bounds and the body cap. */
export interface McpRouteOpts extends McpSessionLimits {
  /** Largest request body. @default 48 MiB (a 32 MiB file written as base64, plus the envelope) */
  maxBodyBytes?: number;
}

export const MCP_PATH = '/mcp';
const DEFAULT_MAX_BODY_BYTES = 48 * 1024 * 1024;
/** Where a request's API client travels from the route to its tool calls (MCP's `authInfo.extra`). */
const CLIENT_KEY = 'agenttierClient';

/** Whose session a request may use: the same user through the same kind of credential and key. */
function ownerOf(who: Identity): string {
  return JSON.stringify([who.via ?? '', who.sub, who.keyId ?? '']);
}

/**
 * The credential the request's tool calls carry: the caller's own header, exactly as sent (the guard
 * chain has just checked it). A browser session is refused: its cookie is not for scripts, and MCP
 * clients send a key or token.
 */
function callerCredential(req: FastifyRequest): Record<string, string> {
  if (req.identity.via === 'session')
    throw new PlatformError(
      'UNAUTHENTICATED',
      'MCP takes an API key or bearer token (X-API-Key or Authorization: Bearer), not a browser session',
      { headers: { 'www-authenticate': 'Bearer' } },
    );
  const out: Record<string, string> = {};
  const key = req.headers['x-api-key'];
  const authorization = req.headers.authorization;
  if (typeof key === 'string') out['x-api-key'] = key;
  if (typeof authorization === 'string') out.authorization = authorization;
  return out;
}

function clientOf(extra: ToolExtra): AgentTier {
  const client = extra.authInfo?.extra?.[CLIENT_KEY];
  if (!(client instanceof AgentTier)) throw new Error('this MCP request carries no caller (internal error)');
  return client;
}

/**
 * MCP over streamable HTTP at `/mcp`, behind the router's guard chain: Host, Origin and content-type
 * checks and authentication run before anything here (http/guards.ts). Every tool call goes through the
 * router's own API in-process with the credential of the HTTP request that carried it, so access rules,
 * scoped keys, rate limits and the audit apply as to any API call: there is no second authorization path.
 */
export function registerMcpRoutes(app: FastifyInstance, opts: McpRouteOpts = {}): McpSessions {
  const sessions = new McpSessions(() => createMcpServer(clientOf), opts);
  app.addHook('onClose', async () => sessions.closeAll());

  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const credential = callerCredential(req);
    const owner = ownerOf(req.identity);
    // Bound to the credential's owner, counted against the user: minted keys do not multiply the quota.
    const session = await sessions.open(req.headers, req.body, owner, req.identity.sub);
    const client = new AgentTier({
      apiUrl: 'http://127.0.0.1', // any origin: the in-process fetch sends to this router itself
      env: {}, // never this process's own credentials
      fetch: inProcessFetch(app.server, { credential, remoteAddress: req.ip }),
    });
    reply.hijack();
    try {
      await sessions.serve(session, req.raw, reply.raw, req.body, {
        token: '',
        clientId: owner,
        scopes: [],
        extra: { [CLIENT_KEY]: client },
      });
    } catch (err) {
      const { status, body, headers } = toWireError(err, String(req.id));
      if (reply.raw.headersSent) reply.raw.destroy();
      else
        reply.raw
          .writeHead(status, { ...headers, 'content-type': 'application/json', 'x-request-id': req.id })
          .end(JSON.stringify(body));
    }
  };

  const bodyLimit = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  app.post(MCP_PATH, { bodyLimit }, handle);
  app.delete(MCP_PATH, handle);
  app.get(MCP_PATH, async (_req, reply) => {
    void reply.header('allow', 'POST, DELETE');
    throw new PlatformError(
      'METHOD_NOT_ALLOWED',
      'this MCP endpoint sends no server-initiated stream: POST requests (and DELETE to end a session)',
    );
  });
  return sessions;
}
