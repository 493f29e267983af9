import { access, readFile, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { MeasuredUsage, UsageSection } from '@agenttier/contract';

/**
 * What this sandbox uses, read from its own container's cgroup (v2 or v1, whichever the runtime
 * mounted at /sys/fs/cgroup) and statfs on the workspace. The same on Docker, Podman and Kubernetes;
 * where the files are missing (gVisor shows few of them) the section is null with the reason.
 */
export interface UsageSamplerOpts {
  /** @default /sys/fs/cgroup */
  cgroupRoot?: string;
  /** Shortest CPU window: a first read (or one after a long pause) samples twice this far apart. @default 250 */
  minWindowMs?: number;
  /** A kept CPU sample older than this is not used as the start of a window. @default 60000 */
  maxWindowMs?: number;
  now?: () => number;
}

interface CpuSample {
  usageUsec: number;
  atMs: number;
}

/** Values at or above this are the kernel's "no limit" (v1 writes 2^63 rounded to a page). */
const UNLIMITED_FROM = Number.MAX_SAFE_INTEGER;
/** The largest cgroup file we read: memory.stat is about 1 KiB. */
const MAX_FILE_BYTES = 64 << 10;

async function readSmall(path: string): Promise<string> {
  const text = await readFile(path, 'utf8');
  return text.length > MAX_FILE_BYTES ? text.slice(0, MAX_FILE_BYTES) : text;
}

/** A counter or size from a cgroup file: "max" (and v1's huge no-limit values) is null. */
export function parseLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || t === '-1') return null;
  const n = parseCount(t);
  return n >= UNLIMITED_FROM ? null : n;
}

export function parseCount(text: string): number {
  const t = text.trim();
  if (!/^\d+$/.test(t)) throw new Error(`not a count: ${JSON.stringify(t.slice(0, 40))}`);
  const n = BigInt(t);
  return n >= BigInt(UNLIMITED_FROM) ? UNLIMITED_FROM : Number(n);
}

/** `key value` lines (cpu.stat, memory.stat) into a map. */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v && /^\d+$/.test(v)) out.set(k, parseCount(v));
  }
  return out;
}

/** cgroup v2 `cpu.max` ("quota period" or "max period") in cores; null without a limit. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (quota === 'max' || !quota || !period) return null;
  const q = parseCount(quota);
  const p = parseCount(period);
  return p > 0 ? q / p : null;
}

/** The files behind each figure, per cgroup version. */
interface CgroupLayout {
  version: 'v1' | 'v2';
  cpuUsageUsec(): Promise<number>;
  cpuLimitCores(): Promise<number | null>;
  memory(): Promise<{ bytes: number; inactiveFile: number; limitBytes: number | null }>;
  pids(): Promise<{ current: number; max: number | null }>;
}

function v2Layout(root: string): CgroupLayout {
  const f = (name: string) => readSmall(join(root, name));
  return {
    version: 'v2',
    async cpuUsageUsec() {
      const usage = parseKeyValues(await f('cpu.stat')).get('usage_usec');
      if (usage === undefined) throw new Error('cpu.stat has no usage_usec');
      return usage;
    },
    cpuLimitCores: async () => parseCpuMax(await f('cpu.max').catch(() => 'max 100000')),
    async memory() {
      const bytes = parseCount(await f('memory.current'));
      const stat = parseKeyValues(await f('memory.stat').catch(() => ''));
      const limitBytes = parseLimit(await f('memory.max').catch(() => 'max'));
      return { bytes, inactiveFile: stat.get('inactive_file') ?? 0, limitBytes };
    },
    pids: async () => ({
      current: parseCount(await f('pids.current')),
      max: parseLimit(await f('pids.max').catch(() => 'max')),
    }),
  };
}

/** cgroup v1: one mount per controller (`cpu,cpuacct` merged on some systems). */
async function v1Layout(root: string): Promise<CgroupLayout> {
  const firstDir = async (names: string[]): Promise<string> => {
    for (const n of names) {
      const dir = join(root, n);
      if (await exists(dir)) return dir;
    }
    return join(root, names[0]!);
  };
  const cpuacct = await firstDir(['cpuacct', 'cpu,cpuacct', 'cpuacct,cpu']);
  const cpu = await firstDir(['cpu', 'cpu,cpuacct', 'cpuacct,cpu']);
  const memory = join(root, 'memory');
  const pids = join(root, 'pids');
  return {
    version: 'v1',
    // Nanoseconds in v1.
    cpuUsageUsec: async () => Math.floor(parseCount(await readSmall(join(cpuacct, 'cpuacct.usage'))) / 1000),
    async cpuLimitCores() {
      const quota = (await readSmall(join(cpu, 'cpu.cfs_quota_us')).catch(() => '-1')).trim();
      if (quota === '-1') return null;
      const period = parseCount(await readSmall(join(cpu, 'cpu.cfs_period_us')));
      return period > 0 ? parseCount(quota) / period : null;
    },
    async memory() {
      const bytes = parseCount(await readSmall(join(memory, 'memory.usage_in_bytes')));
      const stat = parseKeyValues(await readSmall(join(memory, 'memory.stat')).catch(() => ''));
      const limitBytes = parseLimit(
        await readSmall(join(memory, 'memory.limit_in_bytes')).catch(() => 'max'),
      );
      return { bytes, inactiveFile: stat.get('total_inactive_file') ?? 0, limitBytes };
    },
    pids: async () => ({
      current: parseCount(await readSmall(join(pids, 'pids.current'))),
      max: parseLimit(await readSmall(join(pids, 'pids.max')).catch(() => 'max')),
    }),
  };
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/** Which cgroup interface `root` shows: v2 has cgroup.controllers at its top, v1 a directory per controller. */
export async function detectCgroup(root: string): Promise<CgroupLayout | undefined> {
  if (await exists(join(root, 'cgroup.controllers'))) return v2Layout(root);
  if ((await exists(join(root, 'memory'))) || (await exists(join(root, 'cpuacct')))) return v1Layout(root);
  return undefined;
}

function reasonOf(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  const text = e?.code ? `${e.code}${e.path ? ` (${e.path})` : ''}` : String(e?.message ?? err);
  return text.slice(0, 400);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class UsageSampler {
  private readonly root: string;
  private readonly minWindowMs: number;
  private readonly maxWindowMs: number;
  private readonly now: () => number;
  private layout: Promise<CgroupLayout | undefined> | undefined;
  private last: CpuSample | undefined;
  /** One measurement at a time: concurrent callers share it (a burst costs one read of each file). */
  private inFlight: Promise<MeasuredUsage> | undefined;

  constructor(opts: UsageSamplerOpts = {}) {
    this.root = opts.cgroupRoot ?? '/sys/fs/cgroup';
    this.minWindowMs = opts.minWindowMs ?? 250;
    this.maxWindowMs = opts.maxWindowMs ?? 60_000;
    this.now = opts.now ?? Date.now;
  }

  /**
   * Measures now; `storagePath` (the workspace mount) is statfs'd. Without one, storage is null with
   * `noStorageReason`.
   */
  measure(
    storagePath: string | undefined,
    noStorageReason = 'no workspace path given',
  ): Promise<MeasuredUsage> {
    this.inFlight ??= this.measureOnce(storagePath, noStorageReason).finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private async measureOnce(
    storagePath: string | undefined,
    noStorageReason: string,
  ): Promise<MeasuredUsage> {
    this.layout ??= detectCgroup(this.root);
    const layout = await this.layout;
    const unavailable: Partial<Record<UsageSection, string>> = {};
    const out: MeasuredUsage = {
      cgroup: layout?.version ?? null,
      cpu: null,
      memory: null,
      pids: null,
      storage: null,
      unavailable,
    };
    const section = async <T>(name: UsageSection, fn: () => Promise<T>): Promise<T | null> => {
      if (!layout && name !== 'storage') {
        unavailable[name] =
          `no cgroup files at ${this.root} (this runtime does not show them; gVisor shows few)`;
        return null;
      }
      try {
        return await fn();
      } catch (err) {
        unavailable[name] = `cannot read: ${reasonOf(err)}`;
        return null;
      }
    };
    const [cpu, memory, pids, storage] = await Promise.all([
      section('cpu', async () => {
        const { usageCores, windowMs } = await this.cpuOverWindow(layout!);
        const limitCores = await layout!.cpuLimitCores();
        const percent = limitCores ? Math.round((usageCores / limitCores) * 1000) / 10 : null;
        return { usageCores: Math.round(usageCores * 1000) / 1000, limitCores, percent, windowMs };
      }),
      section('memory', async () => {
        const m = await layout!.memory();
        return {
          bytes: m.bytes,
          workingSetBytes: Math.max(0, m.bytes - m.inactiveFile),
          limitBytes: m.limitBytes,
        };
      }),
      section('pids', () => layout!.pids()),
      section('storage', async () => {
        if (!storagePath) throw new Error(noStorageReason);
        const fs = await statfs(storagePath);
        const limitBytes = fs.blocks * fs.bsize;
        return { path: storagePath, usedBytes: (fs.blocks - fs.bfree) * fs.bsize, limitBytes };
      }),
    ]);
    return { ...out, cpu, memory, pids, storage };
  }

  /**
   * CPU use between the kept sample and now; without a usable kept sample (first read, or the last
   * one is too old or too recent) two samples `minWindowMs` apart.
   */
  private async cpuOverWindow(layout: CgroupLayout): Promise<{ usageCores: number; windowMs: number }> {
    const take = async (): Promise<CpuSample> => ({
      usageUsec: await layout.cpuUsageUsec(),
      atMs: this.now(),
    });
    let start = this.last;
    let end = await take();
    const age = start ? end.atMs - start.atMs : Infinity;
    if (!start || age < this.minWindowMs || age > this.maxWindowMs || end.usageUsec < start.usageUsec) {
      start = end;
      await sleep(this.minWindowMs);
      end = await take();
    }
    this.last = end;
    const windowMs = Math.max(1, end.atMs - start.atMs);
    return { usageCores: Math.max(0, end.usageUsec - start.usageUsec) / 1000 / windowMs, windowMs };
  }
}
