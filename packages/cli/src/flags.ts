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

/**
 * Splits a command line the way a POSIX shell splits words, without expanding anything: whitespace
 * separates words, '…' is literal, "…" honours a backslash before " \ $ ` and newline, and one outside
 * quotes escapes the next character. `--install "pip install -r 'my reqs.txt'"` → 4 words.
 */
export function splitCommandLine(text: string, flag: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: "'" | '"' | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else word += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      else if (ch === '\\' && i + 1 < text.length && '"\\$`\n'.includes(text[i + 1] as string))
        word += text[++i];
      else word += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < text.length) word += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (quote) throw new UsageError(`${flag} has an unterminated ${quote} quote: ${text}`);
  if (inWord) words.push(word);
  if (words.length === 0)
    throw new UsageError(`${flag} needs a command, e.g. ${flag} "python3 /workspace/agent.py"`);
  return words;
}

/**
 * Parses a detach key sequence in Docker's format: comma-separated keys, each a single character or
 * `ctrl-X` (X a letter or one of @ [ \ ] ^ _). `""` or `none` turns detaching off.
 */
export function parseDetachKeys(value: unknown): number[] {
  const text = typeof value === 'string' ? value.trim() : '';
  if (text === '' || text === 'none') return [];
  return text.split(',').map((key) => {
    const k = key.trim();
    const ctrl = /^ctrl-(.)$/i.exec(k);
    if (ctrl) {
      const c = (ctrl[1] as string).toUpperCase();
      if (!/[A-Z@[\\\]^_]/.test(c))
        throw new UsageError(`--detach-keys: ctrl-${ctrl[1]} is not a control key`);
      return c.charCodeAt(0) & 0x1f;
    }
    if (k.length === 1) return k.charCodeAt(0);
    throw new UsageError(`--detach-keys expects keys such as "ctrl-],d" or "ctrl-p,ctrl-q", got "${text}"`);
  });
}

/** Describes a detach sequence for humans: [29, 100] → "Ctrl-] d". */
export function describeKeys(keys: number[]): string {
  return keys.map((k) => (k < 32 ? `Ctrl-${String.fromCharCode(k + 64)}` : String.fromCharCode(k))).join(' ');
}
