/**
 * Output of a process or an agent run, as shown in a log panel: appended in chunks, capped so a
 * chatty process cannot grow the page without bound (the oldest text goes, and the panel says so).
 */
export class LogBuffer {
  private chunks: string[] = [];
  private length = 0;
  /** Characters dropped from the front to stay under the cap. */
  dropped = 0;

  constructor(readonly maxChars = 512 * 1024) {}

  append(text: string): void {
    if (text === '') return;
    this.chunks.push(text);
    this.length += text.length;
    if (this.length > this.maxChars) {
      const all = this.chunks.join('');
      const cut = all.length - this.maxChars;
      this.dropped += cut;
      this.chunks = [all.slice(cut)];
      this.length = this.maxChars;
    }
  }

  get text(): string {
    if (this.chunks.length > 1) this.chunks = [this.chunks.join('')];
    return this.chunks[0] ?? '';
  }

  clear(): void {
    this.chunks = [];
    this.length = 0;
    this.dropped = 0;
  }
}
