/**
 * What is typed into a terminal taken from a standby waits until the standby's child has given the pty
 * back its settings (reaper.c, read_message).
 *
 * The child reads its message in raw mode without echo. Input that reaches the pty meanwhile is taken in
 * under raw settings: no echo, and a typed Enter stays `\r` instead of becoming `\n`, so the shell then
 * never sees the end of that line. On an idle machine the child is done long before anyone types; under
 * load the first command sent right after the terminal opened was lost that way. The child writes
 * {@link STANDBY_STARTED} once the settings are restored: until then input is held here, and the marker
 * never reaches a viewer.
 */

/** What a standby terminal's child writes once the pty has its settings back (reaper.c STANDBY_STARTED). */
export const STANDBY_STARTED = '\x1b]agenttier-started\x07';

/** Input held before the start beyond this is dropped (a paste into a shell that never started). */
const MAX_HELD_INPUT_CHARS = 1 << 20;

export class StandbyStartGate {
  private started = false;
  private held = '';
  private input: string[] = [];
  private inputChars = 0;

  constructor(private readonly write: (data: string) => void) {}

  get open(): boolean {
    return this.started;
  }

  /** Input for the pty: written now once started, else held in order. */
  send(data: string): void {
    if (this.started) return this.write(data);
    if (this.inputChars + data.length > MAX_HELD_INPUT_CHARS) return;
    this.input.push(data);
    this.inputChars += data.length;
  }

  /** Output of the pty: returns what viewers may see (the marker removed, a possible start of it kept back). */
  output(data: string): string {
    if (this.started) return data;
    const text = this.held + data;
    const at = text.indexOf(STANDBY_STARTED);
    if (at >= 0) {
      this.started = true;
      this.held = '';
      for (const d of this.input) this.write(d);
      this.input = [];
      this.inputChars = 0;
      return text.slice(0, at) + text.slice(at + STANDBY_STARTED.length);
    }
    const keep = partialMarkerAtEnd(text);
    this.held = text.slice(text.length - keep);
    return text.slice(0, text.length - keep);
  }
}

/** Length of the longest end of `text` that the marker starts with. */
function partialMarkerAtEnd(text: string): number {
  for (let n = Math.min(STANDBY_STARTED.length - 1, text.length); n > 0; n--) {
    if (STANDBY_STARTED.startsWith(text.slice(text.length - n))) return n;
  }
  return 0;
}
