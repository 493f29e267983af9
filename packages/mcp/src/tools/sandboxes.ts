import type { Sandbox } from '@agenttier/sdk';
import { z } from 'zod';
import { duration, sandboxArgs } from '../inputs.ts';
import { ok } from '../results.ts';
import { sandboxOf, tool, type ToolContext } from './registry.ts';

function view(sb: Sandbox): Record<string, unknown> {
  const info = sb.info as unknown as Record<string, unknown>;
  return {
    name: sb.name,
    namespace: sb.namespace,
    status: sb.status,
    template: (info.templateRef as { name?: string } | undefined)?.name,
    mode: info.mode,
    message: info.message,
    createdAt: info.createdAt,
  };
}

/** Sandbox lifecycle: create, list, get, stop, resume, delete. */
export function registerSandboxTools(ctx: ToolContext): void {
  tool(
    ctx,
    'sandbox_create',
    {
      title: 'Create a sandbox',
      description:
        'Creates an isolated sandbox (a container with a /workspace directory that persists across stop/resume) ' +
        'from a template, and by default waits until it is Running. Templates: minimal-shell, general-coding, ' +
        'langgraph-agent (agent mode).',
      inputSchema: {
        ...sandboxArgs,
        template: z.string().min(1).max(253).describe('template name, e.g. "general-coding"'),
        timeout: duration.optional().describe('delete-by time limit, e.g. "4h"'),
        idleTimeout: duration.optional().describe('stop after this long without activity, e.g. "30m"'),
        wait: z.boolean().optional().describe('wait until Running (default true)'),
      },
    },
    async (args, extra) => {
      const sb = await ctx.clientFor(extra).createSandbox({
        name: args.name,
        template: args.template,
        ...(args.namespace ? { namespace: args.namespace } : {}),
        ...(args.timeout ? { timeout: args.timeout } : {}),
        ...(args.idleTimeout ? { idleTimeout: args.idleTimeout } : {}),
        signal: extra.signal,
      });
      if (args.wait !== false) await sb.waitUntilRunning({ timeoutMs: 180_000, signal: extra.signal });
      return ok(`Sandbox ${sb.name} is ${sb.status}.`, view(sb));
    },
  );

  tool(
    ctx,
    'template_list',
    {
      title: 'List templates',
      description: 'The templates a sandbox can be created from: name, mode (code or agent) and description.',
      inputSchema: {},
      annotations: { readOnlyHint: true },
    },
    async (_args, extra) => {
      const templates = await ctx.clientFor(extra).templates.list({ signal: extra.signal });
      return ok(
        `${templates.length} template(s).`,
        templates.map((t) => ({ name: t.name, mode: t.mode, description: t.description, image: t.image })),
      );
    },
  );

  tool(
    ctx,
    'sandbox_list',
    {
      title: 'List sandboxes',
      description: 'Lists your sandboxes with their status.',
      inputSchema: { namespace: sandboxArgs.namespace },
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const list = await ctx.clientFor(extra).listSandboxes({
        ...(args.namespace ? { namespace: args.namespace } : {}),
        signal: extra.signal,
      });
      return ok(`${list.length} sandbox(es).`, list.map(view));
    },
  );

  tool(
    ctx,
    'sandbox_get',
    {
      title: 'Get a sandbox',
      description: 'The status and details of one sandbox.',
      inputSchema: sandboxArgs,
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const sb = await ctx.clientFor(extra).getSandbox(args.name, {
        ...(args.namespace ? { namespace: args.namespace } : {}),
        signal: extra.signal,
      });
      return ok(`Sandbox ${sb.name} is ${sb.status}.`, view(sb));
    },
  );

  tool(
    ctx,
    'sandbox_stop',
    {
      title: 'Stop a sandbox',
      description: 'Stops the sandbox; its /workspace is kept and sandbox_resume brings it back.',
      inputSchema: sandboxArgs,
    },
    async (args, extra) => {
      const sb = sandboxOf(ctx, extra, args);
      await sb.stop({ signal: extra.signal });
      await sb.waitUntilStopped({ timeoutMs: 120_000, signal: extra.signal });
      return ok(`Sandbox ${args.name} is Stopped.`);
    },
  );

  tool(
    ctx,
    'sandbox_resume',
    {
      title: 'Resume a sandbox',
      description: 'Starts a stopped sandbox again on the same /workspace and waits until it is Running.',
      inputSchema: sandboxArgs,
    },
    async (args, extra) => {
      const sb = sandboxOf(ctx, extra, args);
      await sb.resume({ signal: extra.signal });
      await sb.waitUntilRunning({ timeoutMs: 180_000, signal: extra.signal });
      return ok(`Sandbox ${args.name} is Running.`);
    },
  );

  tool(
    ctx,
    'sandbox_delete',
    {
      title: 'Delete a sandbox',
      description: 'Deletes the sandbox and its /workspace for good.',
      inputSchema: sandboxArgs,
      annotations: { destructiveHint: true },
    },
    async (args, extra) => {
      await sandboxOf(ctx, extra, args).delete({ signal: extra.signal });
      return ok(`Sandbox ${args.name} is being deleted.`);
    },
  );
}
