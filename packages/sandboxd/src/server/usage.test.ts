import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { detectCgroup, parseCpuMax, parseLimit, UsageSampler } from './usage.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'usage-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function files(root: string, content: Record<string, string>): Promise<void> {
  for (const [name, text] of Object.entries(content)) {
    await mkdir(join(root, name, '..'), { recursive: true });
    await writeFile(join(root, name), text);
  }
}

/** A clock the test moves; the sampler's short sleep still happens, its length does not matter. */
function clock(startMs = 1_000_000) {
  let t = startMs;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe('cgroup values', () => {
  it('reads limits, with "max" and the v1 no-limit values as null', () => {
    expect(parseLimit('max\n')).toBeNull();
    expect(parseLimit('9223372036854771712\n')).toBeNull();
    expect(parseLimit('268435456\n')).toBe(268435456);
    expect(parseCpuMax('150000 100000\n')).toBe(1.5);
    expect(parseCpuMax('max 100000\n')).toBeNull();
    expect(() => parseLimit('12abc')).toThrow(/not a count/);
  });
});

describe('UsageSampler on cgroup v2 files', () => {
  it('measures CPU between samples, memory, pids and the workspace filesystem', async () => {
    const cg = join(dir, 'cg');
    await files(cg, {
      'cgroup.controllers': 'cpu memory pids\n',
      'cpu.stat': 'usage_usec 5000000\nuser_usec 4000000\nsystem_usec 1000000\n',
      'cpu.max': '150000 100000\n',
      'memory.current': '104857600\n',
      'memory.stat': 'anon 52428800\nfile 52428800\ninactive_file 20971520\n',
      'memory.max': '268435456\n',
      'pids.current': '7\n',
      'pids.max': 'max\n',
    });
    const c = clock();
    const sampler = new UsageSampler({ cgroupRoot: cg, minWindowMs: 5, now: c.now });
    const first = await sampler.measure(dir);
    expect(first.cgroup).toBe('v2');
    // No kept sample: two reads of an unchanged counter.
    expect(first.cpu).toMatchObject({ usageCores: 0, limitCores: 1.5, percent: 0 });
    expect(first.memory).toEqual({ bytes: 104857600, workingSetBytes: 83886080, limitBytes: 268435456 });
    expect(first.pids).toEqual({ current: 7, max: null });
    expect(first.storage?.path).toBe(dir);
    expect(first.storage!.limitBytes).toBeGreaterThan(0);
    expect(first.storage!.usedBytes).toBeLessThanOrEqual(first.storage!.limitBytes);
    expect(first.unavailable).toEqual({});

    // 0.75 s of CPU over 1 s: 0.75 cores, half of the 1.5-core limit.
    await files(cg, { 'cpu.stat': 'usage_usec 5750000\n' });
    c.advance(1000);
    const second = await sampler.measure(dir);
    expect(second.cpu).toEqual({ usageCores: 0.75, limitCores: 1.5, percent: 50, windowMs: 1000 });
  });

  it('reports a section it cannot read as null with the reason, and the rest', async () => {
    const cg = join(dir, 'cg');
    await files(cg, {
      'cgroup.controllers': 'memory\n',
      'memory.current': '4096\n',
      'memory.max': 'max\n',
    });
    const u = await new UsageSampler({ cgroupRoot: cg, minWindowMs: 1 }).measure(dir);
    expect(u.memory).toEqual({ bytes: 4096, workingSetBytes: 4096, limitBytes: null });
    expect(u.cpu).toBeNull();
    expect(u.pids).toBeNull();
    expect(u.unavailable.cpu).toMatch(/ENOENT.*cpu\.stat/);
    expect(u.unavailable.pids).toMatch(/ENOENT.*pids\.current/);
  });
});

describe('UsageSampler on cgroup v1 files', () => {
  it('reads cpuacct nanoseconds, CFS quota, memory and pids controllers', async () => {
    const cg = join(dir, 'cg');
    await files(cg, {
      'cpuacct/cpuacct.usage': '2000000000\n',
      'cpu/cpu.cfs_quota_us': '-1\n',
      'cpu/cpu.cfs_period_us': '100000\n',
      'memory/memory.usage_in_bytes': '1290240\n',
      'memory/memory.limit_in_bytes': '9223372036854771712\n',
      'memory/memory.stat': 'cache 0\ntotal_inactive_file 290240\n',
      'pids/pids.current': '2\n',
      'pids/pids.max': '100\n',
    });
    const c = clock();
    const sampler = new UsageSampler({ cgroupRoot: cg, minWindowMs: 5, now: c.now });
    const first = await sampler.measure(undefined);
    expect(first.cgroup).toBe('v1');
    expect(first.memory).toEqual({ bytes: 1290240, workingSetBytes: 1000000, limitBytes: null });
    expect(first.pids).toEqual({ current: 2, max: 100 });
    expect(first.storage).toBeNull();
    expect(first.unavailable.storage).toMatch(/no workspace path/);
    await files(cg, { 'cpuacct/cpuacct.usage': '4000000000\n' });
    c.advance(2000);
    expect((await sampler.measure(undefined)).cpu).toEqual({
      usageCores: 1,
      limitCores: null,
      percent: null,
      windowMs: 2000,
    });
  });
});

describe('UsageSampler without cgroup files (gVisor-like)', () => {
  it('says so for every cgroup section and still measures storage', async () => {
    const u = await new UsageSampler({ cgroupRoot: join(dir, 'none') }).measure(dir);
    expect(u.cgroup).toBeNull();
    expect([u.cpu, u.memory, u.pids]).toEqual([null, null, null]);
    expect(u.unavailable.memory).toMatch(/no cgroup files/);
    expect(u.storage?.limitBytes).toBeGreaterThan(0);
  });
});

describe("this machine's own cgroup files", () => {
  it('are recognised and readable', async () => {
    const layout = await detectCgroup('/sys/fs/cgroup');
    expect(layout).toBeDefined();
    const u = await new UsageSampler({ minWindowMs: 50 }).measure('/tmp');
    expect(u.cgroup).toBe(layout!.version);
    expect(u.memory?.bytes).toBeGreaterThan(0);
    expect(u.cpu?.windowMs).toBeGreaterThanOrEqual(1);
  });
});
