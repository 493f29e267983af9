import { stringify as toYaml } from 'yaml';
import type { OutputFormat } from './config.ts';

// eslint-disable-next-line no-control-regex -- matching ANSI escapes is the point
const ANSI_RE = /\u001b\[[0-9;]*m/g;

export function visibleLength(text: string): number {
  return text.replace(ANSI_RE, '').length;
}

/** Minimal styling that disappears when colour is off. */
export interface Style {
  bold(s: string): string;
  dim(s: string): string;
  red(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  /** Colours a sandbox phase. */
  phase(s: string): string;
}

export function createStyle(enabled: boolean): Style {
  const wrap = (open: number, close: number) => (s: string) =>
    enabled ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  const red = wrap(31, 39);
  const green = wrap(32, 39);
  const yellow = wrap(33, 39);
  const dim = wrap(2, 22);
  return {
    bold: wrap(1, 22),
    dim,
    red,
    green,
    yellow,
    phase: (s) =>
      s === 'Running' ? green(s) : s === 'Error' ? red(s) : s === 'Stopped' ? dim(s) : s ? yellow(s) : s,
  };
}

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNPRINTABLE_RE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * Text from a sandbox (file names, link targets, commands, paths) made safe for a terminal: control
 * characters, DEL, C1 controls and bidirectional overrides are shown as `\xNN` / `\u{NNNN}` instead of
 * being sent. A sandbox names its files as it likes: a name holding ESC sequences retitled the user's
 * terminal (OSC 52 would write the clipboard) and one holding a newline faked a row of the listing.
 */
export function printable(text: string): string {
  return text.replace(UNPRINTABLE_RE, (c) => {
    const code = c.codePointAt(0) ?? 0;
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
  });
}

/** Aligned columns separated by three spaces, kubectl style. The last column is not padded. */
export function renderTable(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]) =>
    cells
      .map((cell, i) =>
        i === cells.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - visibleLength(cell)),
      )
      .join('   ')
      .trimEnd();
  return [line(headers), ...rows.map(line)].join('\n') + '\n';
}

/** `Key:   value` lines with aligned values; undefined/empty values are skipped. */
export function renderDetails(pairs: [string, string | undefined][]): string {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${v}`).join('\n') + '\n';
}

/** Serialises data for `-o json` / `-o yaml`. */
export function serialize(data: unknown, format: Exclude<OutputFormat, 'table'>): string {
  if (format === 'json') return `${JSON.stringify(data, null, 2)}\n`;
  return toYaml(data, { lineWidth: 0 });
}

/** Parses Go `Time.String()` ("2026-07-21 04:16:07 +0000 UTC") as well as RFC 3339. */
export function parseTime(text: string | undefined): number | undefined {
  if (!text) return undefined;
  const go = /^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}(?:\.\d+)?) ([+-]\d{2})(\d{2})(?: \S+)?$/.exec(text);
  const parsed = go ? Date.parse(`${go[1]}T${go[2]}${go[3]}:${go[4]}`) : Date.parse(text);
  return Number.isNaN(parsed) ? undefined : parsed;
}

/** kubectl-style age: 45s, 12m, 3h, 5d. */
export function formatAge(from: string | undefined, now: number = Date.now()): string {
  const t = parseTime(from);
  if (t === undefined) return '-';
  const s = Math.max(0, Math.floor((now - t) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 120) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** 1536 → "1.5Ki"; exact below 1 KiB. */
export function formatBytes(n: number): string {
  const units = ['Ki', 'Mi', 'Gi', 'Ti'];
  let value = n;
  let unit = '';
  for (const u of units) {
    if (value < 1024) break;
    value /= 1024;
    unit = u;
  }
  return unit === '' ? String(n) : `${value >= 10 ? Math.round(value) : value.toFixed(1)}${unit}`;
}

export function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
