/**
 * Numbers for an interleaved A/B benchmark (bench/exec-regression.ts): each side's samples are kept per
 * round, so besides the ratio of the two overall medians we can give the median of the per-round
 * ratios, which a load change during the run (it hits both sides of a round alike) shifts far less.
 */
import { median, percentile } from './stats.ts';

export interface SideSeries {
  /** Milliseconds, one array per round. */
  rounds: number[][];
  /** CPU time (ms) one process/container used during each round's series, summed over rounds. */
  cpuMs: Record<string, number>;
}

export function newSeries(): SideSeries {
  return { rounds: [], cpuMs: {} };
}

export function allSamples(s: SideSeries): number[] {
  return s.rounds.flat();
}

/** Median of (median of B's round r) / (median of A's round r) over the rounds both sides ran. */
export function medianRoundRatio(a: SideSeries, b: SideSeries): number {
  const n = Math.min(a.rounds.length, b.rounds.length);
  const ratios: number[] = [];
  for (let r = 0; r < n; r++) {
    const ma = median(a.rounds[r]!);
    const mb = median(b.rounds[r]!);
    if (ma > 0 && Number.isFinite(mb)) ratios.push(mb / ma);
  }
  return median(ratios);
}

export interface Comparison {
  label: string;
  base: SideSeries;
  current: SideSeries;
}

const ms = (v: number) => `${v.toFixed(1)} ms`.padStart(9);

/** One table row per comparison: samples, median and p90 of each side, B/A of medians and per round. */
export function comparisonTable(rows: Comparison[]): string {
  const head =
    `${''.padEnd(34)} ${'n'.padStart(4)} ${'base med'.padStart(9)} ${'base p90'.padStart(9)}` +
    ` ${'n'.padStart(4)} ${'cur med'.padStart(9)} ${'cur p90'.padStart(9)} ${'cur/base'.padStart(9)} ${'per-round'.padStart(10)}`;
  const lines = rows.map(({ label, base, current }) => {
    const a = allSamples(base);
    const b = allSamples(current);
    const ratio = median(b) / median(a);
    return (
      `${label.padEnd(34)} ${String(a.length).padStart(4)} ${ms(median(a))} ${ms(percentile(a, 90))}` +
      ` ${String(b.length).padStart(4)} ${ms(median(b))} ${ms(percentile(b, 90))}` +
      ` ${`${ratio.toFixed(3)}×`.padStart(9)} ${`${medianRoundRatio(base, current).toFixed(3)}×`.padStart(10)}`
    );
  });
  return [head, ...lines].join('\n');
}

/** CPU per exec of each measured part (router process, sandbox container) on both sides. */
export function cpuTable(rows: Comparison[]): string {
  const out: string[] = [];
  for (const { label, base, current } of rows) {
    const na = allSamples(base).length;
    const nb = allSamples(current).length;
    for (const part of Object.keys(base.cpuMs)) {
      const a = base.cpuMs[part]! / na;
      const b = (current.cpuMs[part] ?? NaN) / nb;
      out.push(
        `${`${label}, ${part}`.padEnd(56)} base ${a.toFixed(2).padStart(6)} ms   cur ${b.toFixed(2).padStart(6)} ms   ${(b / a).toFixed(2)}×`,
      );
    }
  }
  return out.join('\n');
}

/** Busy share of all CPUs between two /proc/stat readings (`cpu` line: user nice system idle iowait …). */
export function busyShare(before: number[], after: number[]): number {
  const d = after.map((v, i) => v - (before[i] ?? 0));
  const total = d.reduce((s, v) => s + v, 0);
  const idle = (d[3] ?? 0) + (d[4] ?? 0);
  return total > 0 ? (total - idle) / total : NaN;
}

/** The numbers of /proc/stat's aggregate `cpu` line. */
export function parseCpuLine(procStat: string): number[] {
  const line = procStat.split('\n').find((l) => l.startsWith('cpu '));
  if (!line) throw new Error('no aggregate cpu line in /proc/stat');
  return line.trim().split(/\s+/).slice(1).map(Number);
}

/** "a → b (min x, median y, max z)" of 1-minute load averages sampled during a run. */
export function loadSummary(samples: number[]): string {
  if (samples.length === 0) return 'no samples';
  const f = (v: number) => v.toFixed(1);
  return `${f(samples[0]!)} → ${f(samples[samples.length - 1]!)} (min ${f(Math.min(...samples))}, median ${f(median(samples))}, max ${f(Math.max(...samples))}, ${samples.length} samples)`;
}
