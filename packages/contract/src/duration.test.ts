import { describe, expect, it } from 'vitest';
import { formatDurationMs, parseDurationMs } from './duration.ts';

describe('parseDurationMs', () => {
  it.each([
    ['500ms', 500],
    ['90s', 90_000],
    ['30m', 1_800_000],
    ['8h', 28_800_000],
    ['1h30m', 5_400_000],
    ['8h0m0s', 28_800_000],
    ['1m1.5s', 61_500],
    ['1.5h', 5_400_000],
    ['0', 0],
    ['0s', 0],
    ['  15m  ', 900_000],
  ])('parses %j as %d ms', (text, ms) => {
    expect(parseDurationMs(text)).toBe(ms);
  });

  it('tells "ms" from "m" when both appear', () => {
    expect(parseDurationMs('1m500ms')).toBe(60_500);
    expect(parseDurationMs('1ms')).toBe(1);
  });

  it.each([
    '-5m',
    'abc',
    '',
    '1x',
    '5',
    '.5s',
    'h',
    '1 h',
    '1h-30m',
    '1d',
    '1H',
    '+5m',
    '5m ago',
    'NaN',
    'Infinity',
  ])('rejects %j', (text) => {
    expect(parseDurationMs(text)).toBeUndefined();
  });
});

describe('formatDurationMs', () => {
  it.each([
    [0, '0s'],
    [250, '250ms'],
    [999, '999ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [45_000, '45s'],
    [60_000, '1m0s'],
    [61_500, '1m1.5s'],
    [5_400_000, '1h30m0s'],
    [28_800_000, '8h0m0s'],
    [90_061_001, '25h1m1.001s'],
  ])('formats %d ms as %j (Go time.Duration style)', (ms, text) => {
    expect(formatDurationMs(ms)).toBe(text);
  });
});

describe('duration round trips', () => {
  it('parse(format(ms)) returns ms for whole milliseconds across every unit boundary', () => {
    const samples = [
      0, 1, 7, 999, 1000, 1001, 1010, 1100, 59_999, 60_000, 60_001, 3_599_999, 3_600_000, 3_600_001,
    ];
    for (let ms = 0; ms < 200_000; ms += 1237) samples.push(ms);
    for (let h = 1; h < 200; h += 17) samples.push(h * 3_600_000 + 123_456);
    for (const ms of samples) {
      const text = formatDurationMs(ms);
      expect(parseDurationMs(text), `${ms} → ${text}`).toBe(ms);
    }
  });

  it('format(parse(text)) is the identity for canonical Go strings', () => {
    for (const text of [
      '0s',
      '250ms',
      '1s',
      '1.5s',
      '45s',
      '1m0s',
      '2m3s',
      '1h0m0s',
      '1h30m0s',
      '8h0m0s',
      '100h59m59.999s',
    ]) {
      const ms = parseDurationMs(text);
      expect(ms, text).toBeDefined();
      expect(formatDurationMs(ms!)).toBe(text);
    }
  });

  it('normalises non-canonical spellings to the canonical form', () => {
    expect(formatDurationMs(parseDurationMs('90s')!)).toBe('1m30s');
    expect(formatDurationMs(parseDurationMs('90m')!)).toBe('1h30m0s');
    expect(formatDurationMs(parseDurationMs('1500ms')!)).toBe('1.5s');
  });
});
