import { parseDurationMs } from '@agenttier/contract';
import { UsageError } from './errors.ts';

/** `["A=1", "B=x=y"]` → `{A: "1", B: "x=y"}`; anything without `=` is a usage error. */
export function parseKeyValues(values: unknown, flag: string): Record<string, string> | undefined {
  if (!Array.isArray(values) || values.length === 0) return undefined;
  const out: Record<string, string> = {};
  for (const item of values as string[]) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UsageError(`${flag} expects KEY=VALUE, got "${item}"`, `For example: ${flag} DEBUG=1`);
    out[item.slice(0, eq)] = item.slice(eq + 1);
  }
  return out;
}

/** A Go-style duration flag ("90s", "5m", "1h30m") in milliseconds. */
export function parseDurationFlag(value: unknown, flag: string): number {
  const ms = typeof value === 'string' ? parseDurationMs(value) : undefined;
  if (ms === undefined || ms <= 0) {
    throw new UsageError(`${flag} expects a duration such as 90s, 5m or 1h30m, got "${String(value)}"`);
  }
  return ms;
}

/** A positive integer flag. */
export function parseIntFlag(
  value: unknown,
  flag: string,
  { min = 1, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const n = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(`${flag} expects a whole number between ${min} and ${max}, got "${String(value)}"`);
  }
  return n;
}

export function str(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}
