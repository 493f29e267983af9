import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { PlatformError } from './errors.ts';
import { LIMITS, utf8Bytes } from './limits.ts';
import { SEED_FIELD_REFUSALS, droppedFields } from './seed-fields.ts';
import { annotationsPatchSchema, labelsPatchSchema } from './merge-patch.ts';
import {
  annotationsSchema,
  credentialsSchema,
  durationSchema,
  labelsSchema,
  envVarSchema,
  modeSchema,
  nameSchema,
  resourcesSchema,
  storageSchema,
  templateKindSchema,
  templateSpecSchema,
} from './resources.ts';

/**
 * REST request bodies (`/api/v1`). The bodies that define a sandbox or template refuse unknown fields
 * (400 naming each, as the Kubernetes API server refuses them in a custom resource), so a typo such
 * as `idleTimout` or a field of the custom resource (`desiredState`) is not dropped silently; the
 * other bodies ignore unknown fields.
 */
export const createSandboxRequestSchema = z.strictObject({
  name: nameSchema,
  namespace: nameSchema.optional(),
  templateRef: z
    .strictObject({ name: nameSchema, kind: templateKindSchema.optional(), namespace: nameSchema.optional() })
    .optional(),
  /** Convenience: `template: "general-coding"` is the same as `templateRef: {name: ...}`. */
  template: nameSchema.optional(),
  mode: modeSchema.optional(),
  timeout: durationSchema.optional(),
  idleTimeout: durationSchema.optional(),
  storage: storageSchema.optional(),
  resources: resourcesSchema.optional(),
  env: z.array(envVarSchema).max(256).optional(),
  /** Secrets of the caller's (in the sandbox's namespace) handed to the sandbox at start. */
  credentials: credentialsSchema.optional(),
  labels: labelsSchema.optional(),
  annotations: annotationsSchema.optional(),
});
export type CreateSandboxRequest = z.infer<typeof createSandboxRequestSchema>;

/**
 * `PATCH /sandboxes/{id}`: a JSON merge patch (RFC 7396). Fields left out stay; `labels` and
 * `annotations` merge key by key, and a key set to `null` is removed. Nowhere else may a value be
 * null (see `patchNullAllowed`).
 */
export const patchSandboxRequestSchema = z.strictObject({
  timeout: durationSchema.optional(),
  idleTimeout: durationSchema.optional(),
  resources: resourcesSchema.optional(),
  env: z.array(envVarSchema).max(256).optional(),
  labels: labelsPatchSchema.optional(),
  annotations: annotationsPatchSchema.optional(),
});
export type PatchSandboxRequest = z.infer<typeof patchSandboxRequestSchema>;

/** The places of a PATCH body where `null` means "remove": one label's or one annotation's value. */
export function patchNullAllowed(path: readonly string[]): boolean {
  return path.length === 2 && (path[0] === 'labels' || path[0] === 'annotations');
}

export const MAX_EXEC_TIMEOUT_SECONDS = 3600;
const LARGE_INPUT_HINT = 'pass large input through `stdin` instead';
const execArgSchema = z.string().refine((v) => utf8Bytes(v) <= LIMITS.execArgMaxBytes, {
  error: (issue) =>
    `is ${typeof issue.input === 'string' ? utf8Bytes(issue.input) : '?'} bytes; one argument may be at most ${LIMITS.execArgMaxBytes} bytes (the kernel's limit); ${LARGE_INPUT_HINT}`,
});
export const execRequestSchema = z
  .object({
    /** A string runs through `/bin/sh -c` (seed-compatible); an array runs as argv without a shell. */
    command: z.union([execArgSchema.min(1, { error: 'is required' }), z.array(execArgSchema).min(1)]),
    timeout: z
      .number({ error: 'must be a number of seconds' })
      .positive({ error: 'must be greater than 0' })
      .max(MAX_EXEC_TIMEOUT_SECONDS, { error: `must be at most ${MAX_EXEC_TIMEOUT_SECONDS} seconds` })
      .optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), z.string()).optional(),
    cwd: z.string().startsWith('/').optional(),
    stdin: z.string().optional(),
  })
  .superRefine((req, ctx) => {
    // execve refuses (E2BIG) one argument or environment entry over MAX_ARG_STRLEN, and argv plus
    // environment over a quarter of the stack limit: refuse here with the limit in the message.
    for (const [name, value] of Object.entries(req.env ?? {})) {
      const bytes = utf8Bytes(name) + 1 + utf8Bytes(value);
      if (bytes > LIMITS.execArgMaxBytes) {
        ctx.addIssue({
          code: 'custom',
          path: ['env', name],
          message: `is ${bytes} bytes as NAME=value; one environment entry may be at most ${LIMITS.execArgMaxBytes} bytes; ${LARGE_INPUT_HINT}`,
        });
      }
    }
    const argv = typeof req.command === 'string' ? ['/bin/sh', '-c', req.command] : req.command;
    let total = 0;
    for (const a of argv) total += utf8Bytes(a) + 1;
    for (const [name, value] of Object.entries(req.env ?? {}))
      total += utf8Bytes(name) + utf8Bytes(value) + 2;
    if (total > LIMITS.execArgvEnvMaxBytes) {
      ctx.addIssue({
        code: 'custom',
        path: ['command'],
        message: `command and env together are ${total} bytes; at most ${LIMITS.execArgvEnvMaxBytes} bytes are allowed; ${LARGE_INPUT_HINT}`,
      });
    }
  });
export type ExecRequest = z.infer<typeof execRequestSchema>;

export interface ExecResponse {
  stdout: string;
  stderr: string;
  exitCode: number;
  durationMs?: number;
  timedOut?: boolean;
  truncated?: boolean;
}

export const templateWriteRequestSchema = z.strictObject({
  name: nameSchema.optional(),
  kind: templateKindSchema.optional(),
  namespace: nameSchema.optional(),
  spec: templateSpecSchema,
});

/** Sandbox as the REST API shows it (list/get): the seed product's flat summary plus the full object. */
export interface SandboxView {
  sandboxId: string;
  name: string;
  namespace: string;
  uid: string;
  status: string;
  phase: string;
  desiredState: string;
  mode: string;
  templateRef: string;
  podName: string;
  pvcName: string;
  message: string;
  reason?: string;
  createdAt: string;
  startedAt?: string;
  lastActivityAt?: string;
  timeout?: string;
  idleTimeout?: string;
  createdBy?: { sub?: string; email?: string; displayName?: string };
  /** How the caller may act on it (owner, admin, or the role it was shared with). */
  access?: 'admin' | 'owner' | 'viewer' | 'operator';
  labels: Record<string, string>;
  conditions: unknown[];
  resourceVersion: string;
}

/**
 * `GET /sandboxes/{id}/agent/config`: what the last successful configure set. When `configured`,
 * the fields of the seed's `AgentConfigureStatus` are all there (wire-compatible), plus the install
 * argv and the files' paths (never their contents; empty for a configure older than this field).
 * `envNames` are the names of the variables the agent's processes get (the sandbox's and its
 * template's `env`): names only, never a value, since values are often credentials.
 */
export interface AgentConfigView {
  configured: boolean;
  lastConfiguredAt?: string;
  installCommandHash?: string;
  entrypoint: string[];
  installExitCode?: number;
  maxConcurrentInvokes?: number;
  defaultInvokeTimeoutSeconds?: number;
  installCommand: string[];
  files: Array<{ path: string; sizeBytes: number; mode?: string }>;
  envNames: string[];
}

export interface FileEntry {
  name: string;
  path: string;
  size: number;
  isDir: boolean;
  mode: string;
  modifiedAt: number;
  symlinkTarget?: string;
}

/** `GET …/files/{dir}/` (or `?path=`): a directory's entries. */
export interface FileList {
  path: string;
  entries: FileEntry[];
}

/** `PUT …/files/{path}`: where the file was written and how many bytes it has. */
export interface FileWriteResult {
  path: string;
  bytes: number;
}

/** `GET …/configure/install-log`: the output of the last install command. */
export interface InstallLog {
  log: string;
}

export const MAX_FILE_BYTES = 32 * 1024 * 1024;

/** Turns zod issues into field errors that name the field and the rule. */
export function toFieldIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.flatMap((issue): FieldIssue[] => {
    const at = (path: PropertyKey[]) => [prefix, ...path.map(String)].filter(Boolean).join('.') || '(body)';
    // One issue per unknown key, at the key itself (zod reports them together at the parent).
    if (issue.code === 'unrecognized_keys')
      return issue.keys.map((k) => ({
        field: at([...issue.path, k]),
        rule: issue.code,
        message: SEED_FIELD_REFUSALS[k] ?? 'is not a known field',
      }));
    return [{ field: at(issue.path), rule: issue.code, message: issue.message }];
  });
}

function validationFailed(what: string, details: FieldIssue[]): PlatformError {
  const summary = details.map((d) => `${d.field} ${d.message}`).join('; ');
  return new PlatformError('VALIDATION_FAILED', `invalid ${what}: ${summary}`, { details });
}

/** Parses `input` or throws VALIDATION_FAILED with every problem listed. */
export function parseOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string, prefix = ''): T {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw validationFailed(what, toFieldIssues(result.error, prefix));
}

/**
 * parseOrThrow for the bodies that define a sandbox or template: a field at any depth that the schema
 * does not know is refused by name, not dropped (zod's plain objects strip unknown keys silently).
 */
export function parseExactOrThrow<T>(schema: z.ZodType<T>, input: unknown, what: string, prefix = ''): T {
  const data = parseOrThrow(schema, input, what, prefix);
  const dropped = droppedFields(input, data, prefix);
  if (dropped.length > 0) throw validationFailed(what, dropped);
  return data;
}
