import type { ServerNotification } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { DEFAULT_OUTPUT_BYTES, duration, maxOutputBytes, sandboxArgs, sandboxPath } from '../inputs.ts';
import { capped, ok } from '../results.ts';
import { sandboxOf, tool, type ToolContext } from './registry.ts';

const argv = z.array(z.string().max(131_071)).min(1).max(4096);

/** Agent mode: configure an agent sandbox, invoke it with progress notifications. */
export function registerAgentTools(ctx: ToolContext): void {
  tool(
    ctx,
    'agent_configure',
    {
      title: 'Configure an agent sandbox',
      description:
        'Uploads files, runs an install command once (skipped when nothing changed) and sets the entrypoint ' +
        'of an agent-mode sandbox (e.g. from the langgraph-agent template).',
      inputSchema: {
        ...sandboxArgs,
        files: z
          .array(z.object({ path: sandboxPath, content: z.string().max(32 * 1024 * 1024) }))
          .max(200)
          .optional(),
        installCommand: argv.optional().describe('argv, e.g. ["pip", "install", "-r", "requirements.txt"]'),
        entrypoint: argv
          .optional()
          .describe('argv each invoke runs, e.g. ["python3", "/workspace/agent.py"]'),
      },
    },
    async (args, extra) => {
      if (!args.files?.length && !args.installCommand && !args.entrypoint) {
        throw new Error('give at least one of files, installCommand, entrypoint');
      }
      const log: string[] = [];
      const res = await sandboxOf(ctx, extra, args).agent.configure({
        ...(args.files ? { files: args.files } : {}),
        ...(args.installCommand ? { installCommand: args.installCommand } : {}),
        ...(args.entrypoint ? { entrypoint: args.entrypoint } : {}),
        onLog: (line) => log.push(`[${line.stream}] ${line.data}`),
        signal: extra.signal,
      });
      return ok(
        `Configured (install exit code ${String(res.installExitCode)}${res.skipped ? ', unchanged: skipped' : ''}).`,
        { ...res, log: capped(log.join('\n'), DEFAULT_OUTPUT_BYTES, 'install log') },
      );
    },
  );

  tool(
    ctx,
    'agent_invoke',
    {
      title: 'Invoke an agent',
      description:
        'Runs the configured entrypoint with input as its stdin and returns its exit code and output. Each ' +
        'output line is also sent as a progress notification when the request carries a progressToken. ' +
        'Cancelling the request cancels the run.',
      inputSchema: {
        ...sandboxArgs,
        input: z
          .string()
          .max(16 * 1024 * 1024)
          .optional()
          .describe('stdin of the entrypoint'),
        prompt: z.string().max(131_071).optional().describe('passed as --prompt=<value>'),
        timeout: duration.optional().describe('lowers the run’s time limit, e.g. "5m"'),
        maxOutputBytes,
      },
    },
    async (args, extra) => {
      const token = extra._meta?.progressToken;
      let lines = 0;
      let stdout = '';
      let stderr = '';
      let exit: { exitCode: number; reason: string; invokeId: string } | undefined;
      for await (const ev of sandboxOf(ctx, extra, args).agent.invokeStream({
        ...(args.input !== undefined ? { input: args.input } : {}),
        ...(args.prompt !== undefined ? { prompt: args.prompt } : {}),
        ...(args.timeout ? { timeout: args.timeout } : {}),
        signal: extra.signal,
      })) {
        if (ev.type === 'log') {
          if (ev.stream === 'stderr') stderr += `${ev.data}\n`;
          else stdout += `${ev.data}\n`;
          lines += 1;
          if (token !== undefined) {
            const note: ServerNotification = {
              method: 'notifications/progress',
              params: {
                progressToken: token,
                progress: lines,
                message: `[${ev.stream}] ${ev.data}`.slice(0, 4096),
              },
            };
            await extra.sendNotification(note);
          }
        } else if (ev.type === 'exit') {
          exit = ev;
        }
      }
      const max = args.maxOutputBytes ?? DEFAULT_OUTPUT_BYTES;
      const text =
        `exit code ${String(exit?.exitCode)} (${exit?.reason ?? 'unknown'}), invoke ${exit?.invokeId ?? '?'}\n` +
        `--- stdout ---\n${capped(stdout, max, 'stdout')}\n--- stderr ---\n${capped(stderr, max, 'stderr')}`;
      return { content: [{ type: 'text', text }] };
    },
  );
}
