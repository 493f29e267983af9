import type { mcpCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import { serveStdio, startMcpHttp } from '@agenttier/mcp';
import { parseIntFlag } from '../../flags.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';

// stdout carries only MCP messages in stdio mode; everything for humans goes to stderr.
const mcp: HandlerOf<typeof mcpCommand, ''> = async (client, { opts }) => {
  if (opts.http === true) {
    const port = parseIntFlag(String(opts.port ?? '8765'), '--port', { min: 0, max: 65_535 });
    const server = await startMcpHttp({ apiUrl: client.settings.apiUrl, port });
    client.log(
      `agenttier mcp: streamable HTTP at ${server.url} for ${client.settings.apiUrl} (callers send their own API key)`,
    );
    await new Promise<void>((resolve) =>
      client.signal.addEventListener('abort', () => resolve(), { once: true }),
    );
    await server.close();
    return EXIT.OK;
  }
  client.log(`agenttier mcp: serving ${client.settings.apiUrl} over stdio`);
  await serveStdio(client.sdk(), { input: client.stdin, output: client.stdout, signal: client.signal });
  return EXIT.OK;
};

export const mcpHandlers: HandlersOf<typeof mcpCommand> = { '': mcp };
