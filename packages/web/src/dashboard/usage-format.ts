import type { SandboxUsage } from '@agenttier/sdk';

/** 1536 → "1.5 KiB", binary units as limits are written (512Mi, 2Gi). */
export function formatBinary(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${i === 0 ? v : v >= 100 ? Math.round(v) : v.toFixed(1)} ${units[i]}`;
}

/** One bar of the dashboard: what it shows, how full (0–1, undefined without a limit). */
export interface UsageBar {
  label: 'CPU' | 'Memory';
  text: string;
  fraction?: number;
  /** Why there is no figure (the runtime does not show it). */
  missing?: string;
}

const cores = (n: number) => (n >= 10 ? n.toFixed(0) : n.toFixed(2).replace(/\.?0+$/, '') || '0');

/** CPU and memory of a usage answer, as the dashboard shows them. */
export function usageBars(u: SandboxUsage): UsageBar[] {
  const cpu: UsageBar = u.cpu
    ? u.cpu.limitCores
      ? {
          label: 'CPU',
          text: `${Math.round(u.cpu.percent ?? 0)}% of ${cores(u.cpu.limitCores)} CPU`,
          fraction: Math.min(1, u.cpu.usageCores / u.cpu.limitCores),
        }
      : { label: 'CPU', text: `${cores(u.cpu.usageCores)} CPU (no limit)` }
    : { label: 'CPU', text: 'not measured', missing: u.unavailable.cpu ?? 'not measured' };
  const memory: UsageBar = u.memory
    ? u.memory.limitBytes
      ? {
          label: 'Memory',
          text: `${formatBinary(u.memory.workingSetBytes)} of ${formatBinary(u.memory.limitBytes)}`,
          fraction: Math.min(1, u.memory.workingSetBytes / u.memory.limitBytes),
        }
      : { label: 'Memory', text: `${formatBinary(u.memory.workingSetBytes)} (no limit)` }
    : { label: 'Memory', text: 'not measured', missing: u.unavailable.memory ?? 'not measured' };
  return [cpu, memory];
}
