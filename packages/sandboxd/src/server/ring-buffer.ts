/** One stored piece of output; `offset` is the position of its first byte in the whole stream. */
export interface RingChunk<TTag> {
  tag: TTag;
  offset: number;
  data: Buffer;
}

export interface RingSlice<TTag> {
  chunks: RingChunk<TTag>[];
  /** Where the returned bytes start (≥ the requested offset). */
  fromOffset: number;
  /** Requested bytes that were already evicted. */
  droppedBytes: number;
}

/**
 * Keeps the most recent `capacityBytes` of a tagged byte stream (e.g. stdout/stderr interleaved) so a
 * late or returning reader can replay from an absolute offset. Whole chunks are evicted oldest first;
 * a single chunk larger than the capacity keeps only its tail.
 */
export class RingBuffer<TTag> {
  private chunks: RingChunk<TTag>[] = [];
  private head = 0;
  private storedBytes = 0;
  private written = 0;

  constructor(readonly capacityBytes: number) {}

  /** Total bytes ever appended: the offset the next chunk will get. */
  get endOffset(): number {
    return this.written;
  }

  /** Oldest offset still available. */
  get startOffset(): number {
    const first = this.chunks[this.head];
    return first ? first.offset : this.written;
  }

  get size(): number {
    return this.storedBytes;
  }

  append(tag: TTag, data: Buffer): RingChunk<TTag> {
    const chunk: RingChunk<TTag> = { tag, offset: this.written, data };
    this.written += data.length;
    if (this.capacityBytes <= 0) return chunk;
    let stored = chunk;
    if (data.length > this.capacityBytes) {
      const cut = data.length - this.capacityBytes;
      stored = { tag, offset: chunk.offset + cut, data: data.subarray(cut) };
    }
    this.chunks.push(stored);
    this.storedBytes += stored.data.length;
    while (this.storedBytes > this.capacityBytes) {
      const old = this.chunks[this.head];
      if (!old) break;
      this.storedBytes -= old.data.length;
      this.chunks[this.head] = undefined as unknown as RingChunk<TTag>;
      this.head++;
    }
    if (this.head > 1024 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    return chunk;
  }

  /** Chunks covering `[offset, endOffset)`; the first one is trimmed to start exactly at `offset` when possible. */
  since(offset: number): RingSlice<TTag> {
    const start = this.startOffset;
    const from = Math.max(offset, start);
    const droppedBytes = Math.max(0, Math.min(start, this.written) - Math.max(0, offset));
    const out: RingChunk<TTag>[] = [];
    for (let i = this.head; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      if (!c) continue;
      const end = c.offset + c.data.length;
      if (end <= from) continue;
      if (c.offset < from) out.push({ tag: c.tag, offset: from, data: c.data.subarray(from - c.offset) });
      else out.push(c);
    }
    return { chunks: out, fromOffset: Math.min(from, this.written), droppedBytes };
  }

  /** All buffered bytes concatenated. */
  contents(): Buffer {
    return Buffer.concat(this.since(0).chunks.map((c) => c.data));
  }
}
