import { z } from 'zod';
import type { AgentConfigView, ExecResponse, SandboxView } from './api.ts';
import { PATH_MAX, count, timestamp } from './answer-bounds.ts';
import { LIMITS } from './limits.ts';
import { templateSpecSchema } from './resources.ts';
import type { InvokeRecord, PortView, PreviewLink, ProcessInfo, TemplateView } from './wire.ts';

/**
 * Response bodies as zod schemas, for the OpenAPI document (`/api/v1/openapi.json`). Each equals the
 * TypeScript type the server returns and the SDK re-exports: the `_same…` lines below fail to compile
 * when a field is added to one and not the other. Strict: a field the server sends must be here
 * (server/src/openapi.test.ts parses real answers with them).
 */

export const sandboxViewSchema = z.strictObject({
  sandboxId: z.string(),
  name: z.string(),
  namespace: z.string(),
  uid: z.string(),
  status: z.string().describe('the phase (the seed product’s name for it)'),
  phase: z.string(),
  desiredState: z.string(),
  mode: z.string(),
  templateRef: z.string(),
  podName: z.string(),
  pvcName: z.string(),
  message: z.string(),
  reason: z.string().optional(),
  createdAt: z.string(),
  startedAt: z.string().optional(),
  lastActivityAt: z.string().optional(),
  timeout: z.string().optional(),
  idleTimeout: z.string().optional(),
  createdBy: z
    .strictObject({
      sub: z.string().optional(),
      email: z.string().optional(),
      displayName: z.string().optional(),
    })
    .optional(),
  access: z.enum(['admin', 'owner', 'viewer', 'operator']).optional(),
  labels: z.record(z.string(), z.string()),
  conditions: z.array(z.unknown()),
  resourceVersion: z.string(),
});

export const sandboxListSchema = z.strictObject({ sandboxes: z.array(sandboxViewSchema) });

/** `PATCH /sandboxes/{id}`: what was changed, when each change takes effect, and the sandbox after. */
export const patchSandboxResponseSchema = z.strictObject({
  sandboxId: z.string(),
  applied: z.record(z.string(), z.enum(['immediately', 'on-restart'])),
  restartRequired: z.boolean(),
  message: z.string().optional().describe('when restartRequired: what to do for the change to apply'),
  sandbox: sandboxViewSchema,
});

/** `POST /sandboxes/{id}/stop` and `/resume`: the request is taken; the controller acts on it. */
export const stopResumeResponseSchema = z.strictObject({
  status: z.enum(['stopping', 'resuming']),
  sandbox: sandboxViewSchema,
});

export const execResponseSchema = z.strictObject({
  stdout: z.string(),
  stderr: z.string(),
  exitCode: z.number(),
  durationMs: z.number().optional(),
  timedOut: z.boolean().optional(),
  truncated: z.boolean().optional(),
});

export const templateViewSchema = z.strictObject({
  name: z.string(),
  kind: z.enum(['ClusterSandboxTemplate', 'SandboxTemplate']),
  namespace: z.string().optional(),
  description: z.string(),
  image: z.string(),
  mode: z.string(),
  resourceVersion: z.string(),
  createdAt: z.string(),
  labels: z.record(z.string(), z.string()),
  spec: templateSpecSchema,
});

export const templateListSchema = z.strictObject({ templates: z.array(templateViewSchema) });

export const portViewSchema = z.strictObject({
  port: z.number(),
  protocol: z.enum(['http', 'tcp']),
  previewUrl: z.string().nullable(),
  internalUrl: z.string(),
  name: z.string().optional(),
  listening: z.boolean().optional().describe('only when the sandbox is Running'),
});

export const portListSchema = z.strictObject({ ports: z.array(portViewSchema) });

export const previewLinkSchema = z.strictObject({
  url: z.string(),
  expiresAt: z.string(),
  previewUrl: z.string(),
});

export const processInfoSchema = z.strictObject({
  // sandboxd names processes `p-<hex>` (and `onstart`); the id also goes into a response header
  // (`x-process-id`), so a daemon's id with other characters (CR/LF) is refused, not passed on.
  id: z
    .string()
    .min(1)
    .max(128)
    .regex(/^[A-Za-z0-9._-]+$/)
    .describe("sandboxd's process id: letters, digits, '.', '_' and '-'"),
  name: z.string().max(128).nullable(),
  kind: z.enum(['exec', 'background', 'onstart']),
  pid: z
    .number()
    .int()
    .positive()
    .max(2 ** 22)
    .nullable()
    .describe("Linux's PID_MAX_LIMIT"),
  command: z
    .array(z.string().max(LIMITS.execArgMaxBytes))
    .max(LIMITS.execArgvEnvMaxBytes / 2)
    .describe('argv (each argument at most MAX_ARG_STRLEN)'),
  cwd: z.string().max(PATH_MAX),
  state: z.enum(['running', 'exited']),
  startedAt: timestamp,
  finishedAt: timestamp.nullable(),
  exitCode: z
    .number()
    .int()
    .min(-1)
    .max(255)
    .nullable()
    .describe('128+n when killed by signal n, -1 when its timeout fired'),
  signal: z.string().max(32).nullable(),
  timedOut: z.boolean(),
  durationMs: z.number().nonnegative().max(Number.MAX_SAFE_INTEGER).nullable(),
  killOnDetach: z.boolean(),
  stdinOpen: z.boolean(),
  attachments: count,
  outputBytes: count,
  bufferStartOffset: count,
});

export const processListSchema = z.strictObject({ processes: z.array(processInfoSchema) });

export const invokeRecordSchema = z.strictObject({
  invokeId: z.string(),
  namespace: z.string(),
  sandbox: z.string(),
  sandboxUid: z.string(),
  template: z.string(),
  state: z.enum(['running', 'finished']),
  detached: z.boolean(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  exitCode: z.number().optional(),
  reason: z.enum(['completed', 'canceled', 'timeout', 'error']).optional(),
  message: z.string().optional(),
  durationMs: z.number().optional(),
  bytesStdout: z.number(),
  bytesStderr: z.number(),
  eventCount: z.number().describe('events recorded for replay (ids 1..eventCount)'),
  outputTail: z.string().describe('the last part of the output, stdout and stderr interleaved'),
});

export const invokeListSchema = z.strictObject({ invokes: z.array(invokeRecordSchema) });

export const agentConfigViewSchema = z.strictObject({
  configured: z.boolean(),
  lastConfiguredAt: z.string().optional(),
  installCommandHash: z.string().optional(),
  entrypoint: z.array(z.string()),
  installExitCode: z.number().optional(),
  maxConcurrentInvokes: z.number().optional(),
  defaultInvokeTimeoutSeconds: z.number().optional(),
  installCommand: z.array(z.string()),
  files: z.array(z.strictObject({ path: z.string(), sizeBytes: z.number(), mode: z.string().optional() })),
  envNames: z.array(z.string()).describe('names only, never values'),
});

/**
 * True when A and B are the same type, field for field at every depth (an optional field on one side
 * only counts: assignability both ways would let it through).
 */
export type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
const _sameSandboxView: Same<z.output<typeof sandboxViewSchema>, SandboxView> = true;
const _sameExecResponse: Same<z.output<typeof execResponseSchema>, ExecResponse> = true;
const _sameTemplateView: Same<z.output<typeof templateViewSchema>, TemplateView> = true;
const _samePortView: Same<z.output<typeof portViewSchema>, PortView> = true;
const _samePreviewLink: Same<z.output<typeof previewLinkSchema>, PreviewLink> = true;
const _sameProcessInfo: Same<z.output<typeof processInfoSchema>, ProcessInfo> = true;
const _sameInvokeRecord: Same<z.output<typeof invokeRecordSchema>, InvokeRecord> = true;
const _sameAgentConfigView: Same<z.output<typeof agentConfigViewSchema>, AgentConfigView> = true;
