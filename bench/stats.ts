/** Small statistics helpers for benchmarks: medians and percentiles of millisecond samples. */
export function percentile(samples: number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx]!;
}

export const median = (samples: number[]) => percentile(samples, 50);

export async function timeMs(fn: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await fn();
  return performance.now() - t0;
}

export function row(label: string, samples: number[], baseline?: number[]): string {
  const m = median(samples);
  const ratio = baseline ? ` ${(m / median(baseline)).toFixed(2)}×`.padStart(9) : ''.padStart(9);
  return `${label.padEnd(46)} median ${m.toFixed(1).padStart(8)} ms   p90 ${percentile(samples, 90).toFixed(1).padStart(8)} ms${ratio}`;
}
