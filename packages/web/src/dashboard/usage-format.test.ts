import { describe, expect, it } from 'vitest';
import type { SandboxUsage } from '@agenttier/sdk';
import { formatBinary, usageBars } from './usage-format.ts';

const base: SandboxUsage = {
  sandboxId: 'a',
  namespace: 'default',
  sampledAt: '2026-03-01T12:00:00.000Z',
  cgroup: 'v2',
  cpu: { usageCores: 0.5, limitCores: 2, percent: 25, windowMs: 1000 },
  memory: { bytes: 300 * 2 ** 20, workingSetBytes: 256 * 2 ** 20, limitBytes: 2 ** 30 },
  pids: { current: 3, max: 100 },
  storage: null,
  unavailable: {},
};

describe('usageBars', () => {
  it('shows use against the limit, as a fraction for the meter', () => {
    expect(usageBars(base)).toEqual([
      { label: 'CPU', text: '25% of 2 CPU', fraction: 0.25 },
      { label: 'Memory', text: '256 MiB of 1.0 GiB', fraction: 0.25 },
    ]);
  });

  it('has no meter without a limit, and says why a figure is missing', () => {
    const bars = usageBars({
      ...base,
      cpu: null,
      memory: { bytes: 5, workingSetBytes: 5, limitBytes: null },
      unavailable: { cpu: 'no cgroup files at /sys/fs/cgroup' },
    });
    expect(bars).toEqual([
      { label: 'CPU', text: 'not measured', missing: 'no cgroup files at /sys/fs/cgroup' },
      { label: 'Memory', text: '5 B (no limit)' },
    ]);
  });

  it('caps a fraction over the limit at a full meter', () => {
    const over = usageBars({ ...base, cpu: { usageCores: 3, limitCores: 2, percent: 150, windowMs: 1000 } });
    expect(over[0]).toMatchObject({ text: '150% of 2 CPU', fraction: 1 });
    expect(formatBinary(1536)).toBe('1.5 KiB');
  });
});
