import { describe, expect, it } from 'vitest';
import { parseBytes, parseCpuMillis } from './quantity.ts';

describe('parseCpuMillis', () => {
  it.each([
    ['500m', 500],
    ['2', 2000],
    ['0.5', 500],
    ['1.25', 1250],
    ['100m', 100],
    [' 1 ', 1000],
    ['0', 0],
  ])('parses %j as %d millicores', (text, millis) => {
    expect(parseCpuMillis(text)).toBe(millis);
  });

  it.each(['', 'abc', '-1', '1Gi', '2k', '1.5.5', 'm', '500 m', '1e3'])('rejects %j', (text) => {
    expect(parseCpuMillis(text)).toBeUndefined();
  });
});

describe('parseBytes', () => {
  it.each([
    ['1048576', 1_048_576],
    ['1Ki', 1024],
    ['512Mi', 512 * 2 ** 20],
    ['4Gi', 4 * 2 ** 30],
    ['1Ti', 2 ** 40],
    ['1Pi', 2 ** 50],
    ['1.5Gi', 1.5 * 2 ** 30],
    ['1k', 1000],
    ['10G', 10e9],
    ['2M', 2e6],
    ['1T', 1e12],
    ['1P', 1e15],
  ])('parses %j as %d bytes', (text, bytes) => {
    expect(parseBytes(text)).toBe(bytes);
  });

  it('keeps binary and decimal suffixes apart', () => {
    expect(parseBytes('1Gi')).not.toBe(parseBytes('1G'));
    expect(parseBytes('1Mi')! / parseBytes('1M')!).toBeCloseTo(1.048576);
  });

  it.each(['', 'abc', '-1Gi', '500m', '1GB', '1gi', '1 Gi', 'Gi', '1.Gi'])('rejects %j', (text) => {
    expect(parseBytes(text)).toBeUndefined();
  });
});
