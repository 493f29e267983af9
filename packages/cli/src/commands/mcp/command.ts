import type { CommandSpec } from '../../spec.ts';

export const mcpCommand = {
  name: 'mcp',
  description:
    'Serve AgentTier to an MCP client: stdio (acting with your API key), or --http on loopback (acting with each caller’s key)',
  options: [
    {
      flags: '--http',
      description:
        'serve streamable HTTP at http://127.0.0.1:<port>/mcp instead of stdio; callers send their own key',
    },
    { flags: '--port <port>', description: 'port for --http (0 picks a free one)', default: '8765' },
  ],
  examples: [
    {
      description: 'What an MCP client runs (see docs/mcp.md for client configuration)',
      command: 'agenttier mcp',
    },
    {
      description: 'Against another server, with a key from the environment',
      command: 'AGENTTIER_API_KEY=atk_… agenttier mcp --api-url https://agenttier.example.com',
    },
    {
      description: 'Streamable HTTP for clients that connect by URL',
      command: 'agenttier mcp --http --port 8765',
    },
  ],
} as const satisfies CommandSpec;
