import { z } from 'zod';

/**
 * What a sandbox uses right now (`GET /api/v1/sandboxes/{id}/usage`) and what happened to it
 * (`GET /api/v1/sandboxes/{id}/events`). The usage figures come from the sandbox's own daemon, which
 * code in the sandbox can replace: the router parses them with these schemas, so a lying daemon can
 * only report numbers of the right shape about its own sandbox (docs/security.md).
 */

/** Counts and sizes a daemon may report: whole, finite, never negative, at most 2^53. */
const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
/** Fractions of a CPU (cores used over the window, or a limit in cores). */
const cores = z.number().nonnegative().max(1e6);

export const cpuUsageSchema = z.object({
  /** CPU time used over the window, in cores (1.5 = one and a half CPUs busy the whole time). */
  usageCores: cores,
  /** The CPU limit in cores; null when unlimited. */
  limitCores: cores.nullable(),
  /** `usageCores` as a percentage of `limitCores` (null without a limit). */
  percent: z.number().nonnegative().max(1e8).nullable(),
  /** The window the usage was measured over. */
  windowMs: count,
});

export const memoryUsageSchema = z.object({
  /** Everything charged to the sandbox, page cache included. */
  bytes: count,
  /** `bytes` minus inactive file cache: what the kernel would not reclaim first (kubectl top's figure). */
  workingSetBytes: count,
  /** null when unlimited. */
  limitBytes: count.nullable(),
});

export const pidsUsageSchema = z.object({ current: count, max: count.nullable() });

export const storageUsageSchema = z.object({
  /** Where it was measured: the workspace mount. */
  path: z.string().max(4096),
  /** Used and total bytes of the filesystem holding the workspace (statfs). */
  usedBytes: count,
  limitBytes: count,
});

/** The usage sections (keys of `unavailable`). */
export const USAGE_SECTIONS = ['cpu', 'memory', 'pids', 'storage'] as const;
export type UsageSection = (typeof USAGE_SECTIONS)[number];

/** What a sandbox's daemon measures (sandboxd `GET /v1/usage`); every section null when unreadable. */
export const measuredUsageSchema = z.object({
  /** Which cgroup interface the figures came from; null when none could be read (gVisor, say). */
  cgroup: z.enum(['v1', 'v2']).nullable(),
  cpu: cpuUsageSchema.nullable(),
  memory: memoryUsageSchema.nullable(),
  pids: pidsUsageSchema.nullable(),
  storage: storageUsageSchema.nullable(),
  /** Why a null section is null, in words. */
  unavailable: z.partialRecord(z.enum(USAGE_SECTIONS), z.string().max(512)),
});
export type MeasuredUsage = z.infer<typeof measuredUsageSchema>;

/** `GET /api/v1/sandboxes/{id}/usage`. */
export interface SandboxUsage extends MeasuredUsage {
  sandboxId: string;
  namespace: string;
  /** RFC 3339 with milliseconds: when the daemon sampled (answers are cached for about a second). */
  sampledAt: string;
}

export type CpuUsage = z.infer<typeof cpuUsageSchema>;
export type MemoryUsage = z.infer<typeof memoryUsageSchema>;
export type PidsUsage = z.infer<typeof pidsUsageSchema>;
export type StorageUsage = z.infer<typeof storageUsageSchema>;

export const EVENT_TYPES = ['Normal', 'Warning'] as const;
export type SandboxEventType = (typeof EVENT_TYPES)[number];

/**
 * One entry of a sandbox's events feed, shaped like a Kubernetes core/v1 Event: repeats of the same
 * type, reason and message are one entry with a `count` and the first and last time seen.
 */
export interface SandboxEvent {
  type: SandboxEventType;
  /** CamelCase, machine-readable: `Creating`, `Running`, `Stopped`, `IdleTimeout`, `BackOff`, … */
  reason: string;
  message: string;
  count: number;
  /** RFC 3339. */
  firstTimestamp: string;
  lastTimestamp: string;
  /** Who reported it (`agenttier-controller`, a kubelet, …). */
  source?: string;
}

/** `GET /api/v1/sandboxes/{id}/events`: oldest first. */
export interface SandboxEventList {
  events: SandboxEvent[];
}

/** Longest event message kept (as the controller records it on Kubernetes). */
export const MAX_EVENT_MESSAGE_CHARS = 1024;
