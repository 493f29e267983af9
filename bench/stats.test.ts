import { describe, expect, it } from 'vitest';
import { median, percentile } from './stats.ts';

describe('bench stats', () => {
  it('computes medians and percentiles by nearest rank', () => {
    expect(median([5, 1, 3])).toBe(3);
    expect(percentile([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 90)).toBe(9);
    expect(Number.isNaN(median([]))).toBe(true);
  });
});
