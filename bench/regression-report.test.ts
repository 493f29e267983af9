import { describe, expect, it } from 'vitest';
import {
  busyShare,
  comparisonTable,
  cpuTable,
  loadSummary,
  medianRoundRatio,
  parseCpuLine,
} from './regression-report.ts';

describe('exec regression report', () => {
  it('takes the median of per-round ratios, so a slow round on both sides does not skew it', () => {
    const base = {
      rounds: [
        [10, 10, 10],
        [40, 40, 40],
        [10, 12, 11],
      ],
      cpuMs: {},
    };
    const current = {
      rounds: [
        [11, 11, 11],
        [44, 44, 44],
        [12, 12, 12],
      ],
      cpuMs: {},
    };
    // Per-round ratios 1.1, 1.1, 12/11: median 1.1.
    expect(medianRoundRatio(base, current)).toBeCloseTo(1.1, 6);
    // Rounds only one side ran are left out.
    expect(medianRoundRatio(base, { rounds: [[20]], cpuMs: {} })).toBeCloseTo(2, 6);
  });

  it('prints sample counts, medians, p90 and both ratios per row', () => {
    const table = comparisonTable([
      {
        label: 'POST /exec ["true"]',
        base: { rounds: [[1, 2, 3, 4]], cpuMs: {} },
        current: { rounds: [[2, 4, 6, 8]], cpuMs: {} },
      },
    ]);
    const row = table.split('\n')[1]!;
    expect(row).toMatch(
      /^POST \/exec \["true"\]\s+4\s+2\.0 ms\s+4\.0 ms\s+4\s+4\.0 ms\s+8\.0 ms\s+2\.000×\s+2\.000×$/,
    );
  });

  it('divides CPU by the samples of each side', () => {
    const text = cpuTable([
      {
        label: 'true',
        base: { rounds: [[1, 1]], cpuMs: { router: 4 } },
        current: { rounds: [[1, 1, 1, 1]], cpuMs: { router: 12 } },
      },
    ]);
    expect(text).toMatch(/true, router\s+base\s+2\.00 ms\s+cur\s+3\.00 ms\s+1\.50×/);
  });

  it('reads the busy share of /proc/stat between two readings', () => {
    const before = parseCpuLine('cpu  100 0 100 800 0 0 0 0 0 0\ncpu0 1 2 3\n');
    const after = parseCpuLine('cpu  200 0 200 900 100 0 0 0 0 0\n');
    // 200 busy of 400 ticks (idle and iowait count as not busy).
    expect(busyShare(before, after)).toBeCloseTo(0.5, 6);
    expect(() => parseCpuLine('intr 1 2')).toThrow(/cpu line/);
  });

  it('summarises load samples in order with their spread', () => {
    expect(loadSummary([3, 9, 5])).toBe('3.0 → 5.0 (min 3.0, median 5.0, max 9.0, 3 samples)');
    expect(loadSummary([])).toBe('no samples');
  });
});
