import type { CommandSpec } from '../../spec.ts';

export const mcpCommand = {
  name: 'mcp',
  description:
    'Serve AgentTier to an MCP client over stdio (sandbox, exec, file, port and agent tools), acting with your API key',
  examples: [
    {
      description: 'What an MCP client runs (see docs/mcp.md for client configuration)',
      command: 'agenttier mcp',
    },
    {
      description: 'Against another server, with a key from the environment',
      command: 'AGENTTIER_API_KEY=atk_… agenttier mcp --api-url https://agenttier.example.com',
    },
  ],
} as const satisfies CommandSpec;
