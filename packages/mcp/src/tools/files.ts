import { z } from 'zod';
import { sandboxArgs, sandboxPath } from '../inputs.ts';
import { ok } from '../results.ts';
import { sandboxOf, tool, type ToolContext } from './registry.ts';

const DEFAULT_READ_BYTES = 256 * 1024;
const MAX_READ_BYTES = 4 * 1024 * 1024;
/** Base64 of at most 24 MiB of bytes: the decoded file stays under the API's 32 MiB cap. */
const MAX_WRITE_CHARS = 32 * 1024 * 1024;

/** Files: list, read (text, or base64 when not UTF-8), write. */
export function registerFileTools(ctx: ToolContext): void {
  tool(
    ctx,
    'file_list',
    {
      title: 'List a directory',
      description: 'Lists a directory in the sandbox (default /workspace): name, size, whether a directory.',
      inputSchema: {
        ...sandboxArgs,
        path: sandboxPath.optional().describe('directory (default /workspace)'),
      },
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const entries = await sandboxOf(ctx, extra, args).files.list(args.path ?? '/workspace', {
        signal: extra.signal,
      });
      return ok(
        `${entries.length} entries in ${args.path ?? '/workspace'}.`,
        entries.map((e) => ({ name: e.name, size: e.size, isDir: e.isDir, mode: e.mode })),
      );
    },
  );

  tool(
    ctx,
    'file_read',
    {
      title: 'Read a file',
      description:
        'Reads a file from the sandbox. UTF-8 text comes back as text, anything else as base64. At most ' +
        'maxBytes (default 256 KiB) are returned; the rest is cut and the cut is said.',
      inputSchema: {
        ...sandboxArgs,
        path: sandboxPath.describe('the file, e.g. /workspace/main.py'),
        maxBytes: z.number().int().min(1).max(MAX_READ_BYTES).optional(),
      },
      annotations: { readOnlyHint: true },
    },
    async (args, extra) => {
      const bytes = await sandboxOf(ctx, extra, args).files.read(args.path, { signal: extra.signal });
      const max = args.maxBytes ?? DEFAULT_READ_BYTES;
      const head = bytes.subarray(0, max);
      const cut = bytes.length - head.length;
      let text: string;
      let encoding = 'utf-8';
      try {
        text = new TextDecoder('utf-8', { fatal: true }).decode(head);
      } catch {
        // Not UTF-8 (or cut inside a character): give the exact bytes.
        text = Buffer.from(head).toString('base64');
        encoding = 'base64';
      }
      const note = cut
        ? `\n[${cut} more bytes not shown (file is ${bytes.length} bytes); raise maxBytes]`
        : '';
      return ok(`${args.path} (${bytes.length} bytes, ${encoding}):\n${text}${note}`);
    },
  );

  tool(
    ctx,
    'file_write',
    {
      title: 'Write a file',
      description:
        'Writes a file in the sandbox (under /workspace or /tmp), creating parent directories. content is ' +
        'UTF-8 text, or base64 with encoding "base64".',
      inputSchema: {
        ...sandboxArgs,
        path: sandboxPath,
        content: z.string().max(MAX_WRITE_CHARS),
        encoding: z.enum(['utf-8', 'base64']).optional(),
      },
    },
    async (args, extra) => {
      let data: string | Uint8Array = args.content;
      if (args.encoding === 'base64') {
        if (!/^[A-Za-z0-9+/]*={0,2}$/.test(args.content.replace(/\s+/g, ''))) {
          throw new Error('content is not valid base64 (use encoding "utf-8" for text)');
        }
        data = Buffer.from(args.content, 'base64');
      }
      const res = await sandboxOf(ctx, extra, args).files.write(args.path, data, { signal: extra.signal });
      return ok(`Wrote ${res.bytes} bytes to ${args.path}.`);
    },
  );
}
