import { serveStdio } from '@agenttier/mcp';
import type { Handler, HandlerMap } from '../../spec.ts';

// stdout carries only MCP messages from here on; everything for humans goes to stderr.
const mcp: Handler = async (client) => {
  client.log(`agenttier mcp: serving ${client.settings.apiUrl} over stdio`);
  await serveStdio(client.sdk(), { input: client.stdin, output: client.stdout, signal: client.signal });
  return 0;
};

export const mcpHandlers: HandlerMap = { '': mcp };
