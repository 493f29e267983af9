import type { AgentTier } from '@agenttier/sdk';
import { SDK_VERSION } from '@agenttier/sdk';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { registerAgentTools } from './tools/agent.ts';
import { registerExecTools } from './tools/exec.ts';
import { registerFileTools } from './tools/files.ts';
import { registerPortTools } from './tools/ports.ts';
import type { ClientForRequest, ToolContext } from './tools/registry.ts';
import { registerSandboxTools } from './tools/sandboxes.ts';

/**
 * The AgentTier MCP server: every tool acts through `client` (the TypeScript SDK), so it can do what
 * the client's credentials may do and nothing more. Transport-free: connect it to stdio or HTTP. Given
 * a function, each tool call asks it for the client of the request carrying the call.
 */
export function createMcpServer(client: AgentTier | ClientForRequest): McpServer {
  const server = new McpServer(
    { name: 'agenttier', version: SDK_VERSION },
    {
      capabilities: { tools: {} },
      instructions:
        'Tools for AgentTier sandboxes: isolated containers with a persistent /workspace. Create one ' +
        '(sandbox_create), run commands (sandbox_exec, process_start/process_logs), read and write files ' +
        'under /workspace or /tmp (file_*), forward ports, and run agents (agent_configure, agent_invoke). ' +
        'Errors name their code (e.g. SANDBOX_NOT_FOUND, FORBIDDEN) and what to do next.',
    },
  );
  const ctx: ToolContext = { server, clientFor: typeof client === 'function' ? client : () => client };
  registerSandboxTools(ctx);
  registerExecTools(ctx);
  registerFileTools(ctx);
  registerPortTools(ctx);
  registerAgentTools(ctx);
  return server;
}
