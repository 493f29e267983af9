import { z } from 'zod';
import { command, DEFAULT_OUTPUT_BYTES, maxOutputBytes, sandboxArgs, sandboxPath } from '../inputs.ts';
import { capped, ok } from '../results.ts';
import { sandboxOf, tool, type ToolContext } from './registry.ts';

/** Running commands: one-shot exec, and background processes with their logs. */
export function registerExecTools(ctx: ToolContext): void {
  tool(
    ctx,
    'sandbox_exec',
    {
      title: 'Run a command',
      description:
        'Runs a command in a Running sandbox and returns its exit code, stdout and stderr (each cut at ' +
        'maxOutputBytes). A string runs through /bin/sh -c; an array runs as argv. For servers and other ' +
        'long-running programs use process_start instead.',
      inputSchema: {
        ...sandboxArgs,
        command,
        timeoutSeconds: z
          .number()
          .int()
          .min(1)
          .max(3600)
          .optional()
          .describe('kill it after this long (default 30)'),
        cwd: sandboxPath.optional().describe('working directory (default /workspace)'),
        stdin: z
          .string()
          .max(16 * 1024 * 1024)
          .optional()
          .describe('text for its stdin'),
        maxOutputBytes,
      },
    },
    async (args, extra) => {
      const res = await sandboxOf(ctx, extra, args).exec(args.command, {
        ...(args.timeoutSeconds ? { timeoutSec: args.timeoutSeconds } : {}),
        ...(args.cwd ? { cwd: args.cwd } : {}),
        ...(args.stdin !== undefined ? { stdin: args.stdin } : {}),
        signal: extra.signal,
      });
      const max = args.maxOutputBytes ?? DEFAULT_OUTPUT_BYTES;
      const notes = [
        res.timedOut ? 'timed out (killed)' : '',
        res.truncated ? 'output truncated by the server' : '',
      ]
        .filter(Boolean)
        .join(', ');
      const text =
        `exit code ${res.exitCode}${notes ? ` (${notes})` : ''}\n` +
        `--- stdout ---\n${capped(res.stdout, max, 'stdout')}\n` +
        `--- stderr ---\n${capped(res.stderr, max, 'stderr')}`;
      return { content: [{ type: 'text', text }], isError: false };
    },
  );

  tool(
    ctx,
    'process_start',
    {
      title: 'Start a background process',
      description:
        'Starts a long-running command (a dev server, a watcher) in the background and returns its id at ' +
        'once; read its output with process_logs.',
      inputSchema: {
        ...sandboxArgs,
        command,
        label: z.string().max(64).optional().describe('a label shown in listings'),
        cwd: sandboxPath.optional(),
      },
    },
    async (args, extra) => {
      const p = await sandboxOf(ctx, extra, args).processes.start(args.command, {
        ...(args.label ? { name: args.label } : {}),
        ...(args.cwd ? { cwd: args.cwd } : {}),
        signal: extra.signal,
      });
      return ok(`Started process ${p.id} (pid ${String(p.pid)}).`, { id: p.id, pid: p.pid, state: p.state });
    },
  );

  tool(
    ctx,
    'process_logs',
    {
      title: 'Read a background process’s output',
      description:
        'The output of a background process from byte offset fromOffset on: what is buffered, then whatever ' +
        'arrives until it exits or is quiet for waitMs. Returns nextOffset to continue from.',
      inputSchema: {
        ...sandboxArgs,
        id: z.string().min(1).max(128).describe('the process id from process_start'),
        fromOffset: z.number().int().min(0).optional().describe('byte offset to start at (default 0)'),
        waitMs: z
          .number()
          .int()
          .min(0)
          .max(30_000)
          .optional()
          .describe('stop after this long without output (default 1000)'),
        maxOutputBytes,
      },
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const sb = sandboxOf(ctx, extra, args);
      const quietMs = args.waitMs ?? 1000;
      const max = args.maxOutputBytes ?? DEFAULT_OUTPUT_BYTES;
      const stop = new AbortController();
      const signal = AbortSignal.any([stop.signal, extra.signal]);
      let out = '';
      let nextOffset = args.fromOffset ?? 0;
      let exit: unknown;
      let timer = setTimeout(() => stop.abort(), quietMs);
      try {
        for await (const ev of sb.processes.output(args.id, { fromOffset: nextOffset, signal })) {
          clearTimeout(timer);
          if (ev.type === 'stdout' || ev.type === 'stderr') {
            out += ev.data;
            if (typeof ev.nextOffset === 'number') nextOffset = ev.nextOffset;
            if (Buffer.byteLength(out) > max) break;
          } else if (ev.type === 'exit') {
            exit = ev;
            break;
          }
          timer = setTimeout(() => stop.abort(), quietMs);
        }
      } catch (err) {
        if (!stop.signal.aborted) throw err; // quiet for waitMs: what we have is the answer
      } finally {
        clearTimeout(timer);
      }
      const state = exit ? `exited: ${JSON.stringify(exit)}` : 'still running (or quiet)';
      return ok(`${state}; nextOffset ${nextOffset}\n${capped(out, max, 'output')}`);
    },
  );
}
