import type { Readable, Writable } from 'node:stream';
import type { AgentTier } from '@agenttier/sdk';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { createMcpServer } from './server.ts';

/**
 * Serves MCP on a pair of streams (the process's stdin/stdout for `agenttier mcp`) until the input
 * ends or `signal` aborts. Nothing else may write to `output`: it carries only protocol messages.
 */
export async function serveStdio(
  client: AgentTier,
  opts: { input: Readable; output: Writable; signal?: AbortSignal },
): Promise<void> {
  const server = createMcpServer(client);
  const transport = new StdioServerTransport(opts.input, opts.output);
  const closed = new Promise<void>((resolve) => {
    transport.onclose = () => resolve();
    opts.input.once('end', () => resolve());
    opts.signal?.addEventListener('abort', () => resolve(), { once: true });
  });
  await server.connect(transport);
  await closed;
  await server.close();
}
