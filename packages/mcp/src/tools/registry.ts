import type { AgentTier, Sandbox } from '@agenttier/sdk';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import type {
  CallToolResult,
  ServerNotification,
  ServerRequest,
  ToolAnnotations,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { guarded } from '../results.ts';

/** What a tool handler gets besides its arguments: the request's signal, auth, notifications. */
export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * The API client a tool call acts through. Over stdio that is one client for the whole process; on the
 * router's `/mcp` it is built per HTTP request from that request's own credential (server/routes/mcp.ts),
 * so a call acts as whoever sent it, never as whoever opened the session.
 */
export type ClientForRequest = (extra: ToolExtra) => AgentTier;

/** What every tool module gets: the server to register on and the API client acting for the caller. */
export interface ToolContext {
  server: McpServer;
  clientFor: ClientForRequest;
}

type Shape = Record<string, z.ZodType>;

/** Registers a tool whose errors (thrown or from the API) come back as tool errors, never crashes. */
export function tool<S extends Shape>(
  ctx: ToolContext,
  name: string,
  config: { title: string; description: string; inputSchema: S; annotations?: ToolAnnotations },
  run: ToolCallback<S>,
): void {
  const call = run as (...a: unknown[]) => Promise<CallToolResult> | CallToolResult;
  const wrapped = (...a: unknown[]) => guarded(async () => call(...a));
  ctx.server.registerTool(name, config, wrapped as unknown as ToolCallback<S>);
}

/** A handle on the named sandbox without a request (each call names it; the router checks access). */
export function sandboxOf(
  ctx: ToolContext,
  extra: ToolExtra,
  args: { name: string; namespace?: string | undefined },
): Sandbox {
  return ctx.clientFor(extra).sandbox(args.name, args.namespace ? { namespace: args.namespace } : {});
}
