import { z } from 'zod';
import { sandboxArgs } from '../inputs.ts';
import { ok } from '../results.ts';
import { sandboxOf, tool, type ToolContext } from './registry.ts';

/** Forwarded ports: a server in the sandbox reachable at a preview URL. */
export function registerPortTools(ctx: ToolContext): void {
  tool(
    ctx,
    'port_forward',
    {
      title: 'Forward a port',
      description:
        'Makes a port a server listens on inside the sandbox reachable through the router; returns its ' +
        'preview URL (open it in a browser with the same credentials).',
      inputSchema: {
        ...sandboxArgs,
        port: z.number().int().min(1).max(65_535),
        label: z
          .string()
          .regex(/^[a-z][a-z0-9-]{0,62}$/, {
            error: 'lowercase letters, digits and "-", starting with a letter',
          })
          .optional()
          .describe('a name for the forward, e.g. "web"'),
      },
    },
    async (args, extra) => {
      const p = await sandboxOf(ctx, extra, args).ports.forward(args.port, {
        ...(args.label ? { name: args.label } : {}),
        signal: extra.signal,
      });
      return ok(`Port ${p.port} forwarded.`, {
        port: p.port,
        previewUrl: p.previewUrl,
        listening: p.listening,
      });
    },
  );
}
