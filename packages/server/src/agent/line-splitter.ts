/**
 * Splits a byte stream into lines (the `log` events of /invoke and /configure carry one line each).
 * A partial trailing line is held until its newline arrives or `flush` is called; a line longer than
 * `maxLineBytes` is emitted in pieces so one runaway line cannot grow memory without bound.
 */
export class LineSplitter {
  private pending = '';
  private readonly decoder = new TextDecoder('utf-8');

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineBytes = 64 * 1024,
  ) {}

  push(chunk: Uint8Array): void {
    this.pending += this.decoder.decode(chunk, { stream: true });
    let nl: number;
    while ((nl = this.pending.indexOf('\n')) >= 0) {
      const line = this.pending.slice(0, nl).replace(/\r$/, '');
      this.pending = this.pending.slice(nl + 1);
      this.onLine(line);
    }
    while (this.pending.length > this.maxLineBytes) {
      this.onLine(this.pending.slice(0, this.maxLineBytes));
      this.pending = this.pending.slice(this.maxLineBytes);
    }
  }

  flush(): void {
    this.pending += this.decoder.decode();
    if (this.pending.length > 0) this.onLine(this.pending);
    this.pending = '';
  }
}
