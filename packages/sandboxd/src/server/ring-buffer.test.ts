import { describe, expect, it } from 'vitest';

import { RingBuffer } from './ring-buffer.ts';

const b = (s: string): Buffer => Buffer.from(s);

describe('RingBuffer', () => {
  it('replays everything from offset 0 while under capacity', () => {
    const r = new RingBuffer<string>(100);
    r.append('out', b('hello '));
    r.append('err', b('world'));
    const s = r.since(0);
    expect(s.fromOffset).toBe(0);
    expect(s.droppedBytes).toBe(0);
    expect(s.chunks.map((c) => [c.tag, c.offset, c.data.toString()])).toEqual([
      ['out', 0, 'hello '],
      ['err', 6, 'world'],
    ]);
    expect(r.endOffset).toBe(11);
  });

  it('trims the first chunk to the requested offset', () => {
    const r = new RingBuffer<null>(100);
    r.append(null, b('abcdef'));
    r.append(null, b('ghij'));
    const s = r.since(4);
    expect(Buffer.concat(s.chunks.map((c) => c.data)).toString()).toBe('efghij');
    expect(s.chunks[0]?.offset).toBe(4);
    expect(r.since(10).chunks).toEqual([]);
    expect(r.since(99).fromOffset).toBe(10);
  });

  it('evicts whole old chunks and reports dropped bytes', () => {
    const r = new RingBuffer<null>(10);
    r.append(null, b('aaaa'));
    r.append(null, b('bbbb'));
    r.append(null, b('cccc'));
    expect(r.size).toBeLessThanOrEqual(10);
    expect(r.startOffset).toBe(4);
    const s = r.since(0);
    expect(s.droppedBytes).toBe(4);
    expect(s.fromOffset).toBe(4);
    expect(r.contents().toString()).toBe('bbbbcccc');
  });

  it('keeps only the tail of a chunk larger than the capacity', () => {
    const r = new RingBuffer<null>(4);
    r.append(null, b('0123456789'));
    expect(r.contents().toString()).toBe('6789');
    expect(r.startOffset).toBe(6);
    expect(r.endOffset).toBe(10);
  });

  it('stays correct over many appends (compaction)', () => {
    const r = new RingBuffer<null>(64);
    for (let i = 0; i < 5000; i++) r.append(null, b(String(i % 10)));
    expect(r.endOffset).toBe(5000);
    expect(r.contents().length).toBe(64);
    expect(
      r
        .since(4990)
        .chunks.map((c) => c.data.toString())
        .join(''),
    ).toBe('0123456789');
  });

  it('with capacity 0 only counts offsets', () => {
    const r = new RingBuffer<null>(0);
    expect(r.append(null, b('abc')).offset).toBe(0);
    expect(r.append(null, b('de')).offset).toBe(3);
    expect(r.contents().length).toBe(0);
  });
});
