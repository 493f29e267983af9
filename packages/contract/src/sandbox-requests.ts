import { z } from 'zod';
import { execRequestSchema } from './api.ts';
import { durationSchema } from './resources.ts';

/**
 * Request bodies of the data-plane routes (background processes, file operations, agent configure,
 * invoke cancel): one schema each, which the server validates with, the OpenAPI document describes and
 * clients take their types from.
 */

/** `POST /sandboxes/{id}/processes`: an exec request plus a label and a time limit. */
export const startProcessRequestSchema = execRequestSchema.safeExtend({
  name: z.string().max(128).optional(),
  /** Seconds; at most a week. */
  timeout: z
    .number()
    .positive()
    .max(7 * 24 * 3600)
    .optional(),
});
export type StartProcessRequest = z.input<typeof startProcessRequestSchema>;

/** `POST /sandboxes/{id}/processes/{pid}/signal` */
export const signalRequestSchema = z.object({
  signal: z.string().regex(/^(SIG)?[A-Z0-9]+$/, { error: 'must be a signal name like SIGTERM' }),
});
export type SignalRequest = z.input<typeof signalRequestSchema>;

/** `POST /sandboxes/{id}/fs/mkdir` */
export const mkdirRequestSchema = z.object({
  path: z.string().min(1, { error: 'is required' }),
  parents: z.boolean().optional(),
});
export type MkdirRequest = z.input<typeof mkdirRequestSchema>;

/** `POST /sandboxes/{id}/fs/rename` */
export const renameRequestSchema = z.object({
  from: z.string().min(1, { error: 'is required' }),
  to: z.string().min(1, { error: 'is required' }),
  overwrite: z.boolean().optional(),
});
export type RenameRequest = z.input<typeof renameRequestSchema>;

/** `POST /sandboxes/{id}/invoke/cancel` (the route reads its body by hand: invoke routes take raw bytes). */
export const invokeCancelRequestSchema = z.object({ invokeId: z.string().min(1) });
export type InvokeCancelRequest = z.input<typeof invokeCancelRequestSchema>;

/** `POST /sandboxes/{id}/ports/{port}/preview-link`: where the browser lands (default `/`). */
export const previewLinkRequestSchema = z
  .object({
    path: z.string().max(2048).optional().describe('path and query on the preview origin, e.g. /app?x=1'),
  })
  .strict();
export type PreviewLinkRequest = z.input<typeof previewLinkRequestSchema>;

export const MAX_CONFIGURE_FILES = 200;
export const MAX_CONFIGURE_FILE_BYTES = 32 * 1024 * 1024;
export const MAX_CONFIGURE_TOTAL_BYTES = 128 * 1024 * 1024;

const configureFileSchema = z
  .object({
    path: z.string().min(1, { error: 'is required' }),
    content: z.string().optional(),
    contentBase64: z.string().optional(),
    mode: z.union([z.number().int().min(0).max(0o777), z.string().regex(/^[0-7]{3,4}$/)]).optional(),
  })
  .refine((f) => (f.content === undefined) !== (f.contentBase64 === undefined), {
    error: 'exactly one of content or contentBase64 is required',
  });

/**
 * The wire form is an argv array; a string is accepted too, for clients that write commands as they
 * would type them, and runs through `/bin/sh -c` (so pipes and `&&` work as typed).
 */
const commandSchema = z.union([
  z.array(z.string()).min(1),
  z
    .string()
    .trim()
    .min(1, { error: 'must not be empty' })
    .transform((cmd) => ['/bin/sh', '-c', cmd]),
]);

/** `POST /sandboxes/{id}/configure` (agent mode). File sizes are checked after decoding (413). */
export const configureRequestSchema = z
  .object({
    files: z
      .array(configureFileSchema)
      .max(MAX_CONFIGURE_FILES, { error: `at most ${MAX_CONFIGURE_FILES} files` })
      .optional(),
    installCommand: commandSchema.optional(),
    entrypoint: commandSchema.optional(),
    installTimeout: durationSchema.optional(),
    maxConcurrentInvokes: z.number().int().min(0).max(1000).optional(),
    defaultInvokeTimeout: durationSchema.optional(),
  })
  .refine((r) => r.files?.length || r.installCommand || r.entrypoint, {
    error: 'at least one of files, installCommand, or entrypoint is required',
  });
/** The body as the server holds it after parsing (commands as argv). */
export type ConfigureRequest = z.output<typeof configureRequestSchema>;
/** The body as a client sends it. */
export type ConfigureRequestBody = z.input<typeof configureRequestSchema>;
