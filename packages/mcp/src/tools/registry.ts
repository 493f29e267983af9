import type { AgentTier, Sandbox } from '@agenttier/sdk';
import type { McpServer, ToolCallback } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult, ToolAnnotations } from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { guarded } from '../results.ts';

/** What every tool module gets: the server to register on and the API client acting for the user. */
export interface ToolContext {
  server: McpServer;
  client: AgentTier;
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
export function sandboxOf(ctx: ToolContext, args: { name: string; namespace?: string | undefined }): Sandbox {
  return ctx.client.sandbox(args.name, args.namespace ? { namespace: args.namespace } : {});
}
