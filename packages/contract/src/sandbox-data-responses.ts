import { z } from 'zod';
import { PATH_MAX, count } from './answer-bounds.ts';
import type { FileEntry, FileList, FileWriteResult, InstallLog } from './api.ts';
import type { SandboxEvent, SandboxEventList, SandboxUsage } from './observability.ts';
import { EVENT_TYPES, measuredUsageSchema } from './observability.ts';
import type { Same } from './responses.ts';

/**
 * Response bodies of the file, usage, events and install-log routes as zod schemas, for the OpenAPI
 * document; each compiled against its contract type and strict, as in responses.ts. The file shapes
 * are bounded: the router parses what sandboxd answers with them (docs/security.md, "Daemon answers
 * parsed, not passed through").
 */

export const fileEntrySchema = z.strictObject({
  name: z.string().max(255).describe("NAME_MAX: a file name's longest"),
  path: z.string().max(PATH_MAX),
  size: count,
  isDir: z.boolean(),
  mode: z.string().max(16).describe('ls -l style, e.g. drwxr-xr-x'),
  modifiedAt: z
    .number()
    .int()
    .min(-Number.MAX_SAFE_INTEGER)
    .max(Number.MAX_SAFE_INTEGER)
    .describe('Unix seconds'),
  symlinkTarget: z.string().max(PATH_MAX).optional(),
});

export const fileListSchema = z.strictObject({ path: z.string(), entries: z.array(fileEntrySchema) });

export const fileWriteResultSchema = z.strictObject({ path: z.string(), bytes: count });

export const sandboxUsageSchema = z.strictObject({
  sandboxId: z.string(),
  namespace: z.string(),
  sampledAt: z.string().describe('when the daemon sampled (answers are cached for about a second)'),
  ...measuredUsageSchema.shape,
});

export const sandboxEventSchema = z.strictObject({
  type: z.enum(EVENT_TYPES),
  reason: z.string(),
  message: z.string(),
  count: z.number().int().positive(),
  firstTimestamp: z.string(),
  lastTimestamp: z.string(),
  source: z.string().optional(),
});

export const sandboxEventListSchema = z.strictObject({ events: z.array(sandboxEventSchema) });

export const installLogSchema = z.strictObject({ log: z.string() });

/** This document itself (`GET /api/v1/openapi.json`): OpenAPI 3.1, described by its own specification. */
export const openApiDocumentSchema = z.looseObject({
  openapi: z.literal('3.1.0'),
  info: z.looseObject({ title: z.string(), version: z.string() }),
  paths: z.record(z.string(), z.record(z.string(), z.unknown())),
  components: z.looseObject({}),
});

const _sameFileEntry: Same<z.output<typeof fileEntrySchema>, FileEntry> = true;
const _sameFileList: Same<z.output<typeof fileListSchema>, FileList> = true;
const _sameFileWrite: Same<z.output<typeof fileWriteResultSchema>, FileWriteResult> = true;
const _sameUsage: Same<z.output<typeof sandboxUsageSchema>, SandboxUsage> = true;
const _sameEvent: Same<z.output<typeof sandboxEventSchema>, SandboxEvent> = true;
const _sameEventList: Same<z.output<typeof sandboxEventListSchema>, SandboxEventList> = true;
const _sameInstallLog: Same<z.output<typeof installLogSchema>, InstallLog> = true;
