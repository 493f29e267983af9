import { durationSchema, nameSchema } from '@agenttier/contract';
import { z } from 'zod';

/**
 * Tool argument schemas. They refuse what the router would refuse, earlier and in words a model can act
 * on (the router still checks everything: these are for clear errors, not the defence).
 */

export const sandboxArgs = {
  name: nameSchema.describe('the sandbox name (a DNS label: lowercase letters, digits, "-")'),
  namespace: nameSchema.optional().describe('namespace of the sandbox (default "default")'),
};

/** A control character (U+0000–U+001F, U+007F) or a backslash, as the router's path check refuses them. */
function hasControlOrBackslash(p: string): boolean {
  for (const ch of p) {
    const code = ch.charCodeAt(0);
    if (code < 0x20 || code === 0x7f || ch === '\\') return true;
  }
  return false;
}

/** An absolute path inside the sandbox; the router confines it to the workspace and /tmp. */
export const sandboxPath = z
  .string()
  .min(1, { error: 'is required' })
  .max(4096, { error: 'must be at most 4096 characters' })
  .refine((p) => p.startsWith('/'), {
    error: 'must be absolute, under the workspace (e.g. /workspace/notes.txt) or /tmp',
  })
  .refine((p) => !hasControlOrBackslash(p), { error: 'must not contain control characters or "\\"' })
  .refine((p) => !p.split('/').includes('..'), {
    error: 'must not contain ".." segments: name the file directly (the workspace is /workspace)',
  });

/** A command: a string runs through /bin/sh -c; an array runs as argv without a shell. */
export const command = z
  .union([
    z.string().min(1, { error: 'must not be empty' }).max(131_071),
    z.array(z.string().max(131_071)).min(1, { error: 'must have at least the program' }).max(4096),
  ])
  .describe('a shell command string (run by /bin/sh -c), or an argv array (no shell)');

export const duration = durationSchema.describe('a duration such as "30s", "10m", "1h"');

/** Bytes of output a tool returns at most; more is cut and the cut is said. */
export const DEFAULT_OUTPUT_BYTES = 64 * 1024;
export const MAX_OUTPUT_BYTES = 1024 * 1024;
export const maxOutputBytes = z
  .number()
  .int()
  .min(1024)
  .max(MAX_OUTPUT_BYTES)
  .optional()
  .describe(
    `bytes of output returned per stream (default ${DEFAULT_OUTPUT_BYTES}, at most ${MAX_OUTPUT_BYTES})`,
  );
