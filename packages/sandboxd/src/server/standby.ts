/**
 * Standby reapers: agenttier-reaper started ahead with `--command-fd`, its child already forked and
 * waiting for a command (reaper.c, "Standby").
 *
 * sandboxd shares the container's pids limit with the sandbox's own processes. When they fill it,
 * every new exec or terminal needs two pids (the reaper and its command) that do not exist, so the
 * user could not run the very command that ends the flood (`pkill -u sandbox sleep`). A standby holds
 * both pids from before: handing it a command costs no fork at all. sandboxd keeps a few, made before
 * it starts anything of the sandbox's (so before any code of the sandbox's could fill the limit), and
 * replaces each one used as soon as pids are free again.
 */

/** What a standby terminal writes to its pty once it is in raw mode and waits (reaper.c STANDBY_READY). */
export const STANDBY_READY = '\x1b]agenttier-standby\x07';

/**
 * The message a standby's child reads (reaper.c): NUL-terminated fields CWD, ARGC, ARGV…, ENVC, ENV….
 * Fields cannot contain NUL (sandboxd refuses such commands, cwds and environments before).
 */
export function standbyMessage(argv: string[], cwd: string, env: Record<string, string>): Buffer {
  const entries = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const fields = [cwd, String(argv.length), ...argv, String(entries.length), ...entries];
  return Buffer.from(fields.map((f) => `${f}\0`).join(''), 'utf8');
}

export interface StandbyPoolOpts<T> {
  /** How many to keep. */
  size: number;
  /**
   * Starts one. Returns undefined (or throws) when it cannot now (no pids, no memory); calls `onGone`
   * when it ends before it was taken (killed from inside the sandbox, say).
   */
  create(onGone: () => void): T | undefined;
  /** Ends one that was not taken (at shutdown). */
  discard(entry: T): void;
  /** Whether it is ready to take a command (a terminal's waits for its child's raw mode). */
  isReady?(entry: T): boolean;
  /** After a failed or lost start, try again this much later. @default 1000 */
  retryMs?: number;
}

/** A few standbys of one kind: taken one at a time, each replaced when pids allow. */
export class StandbyPool<T> {
  private readonly entries: T[] = [];
  private retry: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly opts: StandbyPoolOpts<T>) {}

  get count(): number {
    return this.entries.length;
  }

  /** Starts standbys until there are `size` of them, or one fails (then retries later). */
  fill(): void {
    while (!this.closed && this.entries.length < this.opts.size) {
      let entry: T | undefined;
      try {
        entry = this.opts.create(() => this.lost(entry));
      } catch {
        entry = undefined;
      }
      if (entry === undefined) return this.retryLater();
      this.entries.push(entry);
    }
  }

  /**
   * A ready standby, now the caller's (undefined when none is ready). The pool starts a replacement at
   * once, or with `refill: false` leaves that to the caller's next {@link fill} (starting one blocks
   * until its exec, which the caller may want off its own path).
   */
  take(opts: { refill?: boolean } = {}): T | undefined {
    const i = this.entries.findIndex((e) => this.opts.isReady?.(e) ?? true);
    if (i < 0) return undefined;
    const [entry] = this.entries.splice(i, 1);
    if (opts.refill !== false) this.fill();
    return entry;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    for (const e of this.entries.splice(0)) this.opts.discard(e);
  }

  private lost(entry: T | undefined): void {
    const i = entry === undefined ? -1 : this.entries.indexOf(entry);
    if (i < 0) return; // taken already (then its end is its user's business), or never added
    this.entries.splice(i, 1);
    // Not at once: code in the sandbox that kills every standby must not make sandboxd spin.
    this.retryLater();
  }

  private retryLater(): void {
    if (this.closed || this.retry) return;
    this.retry = setTimeout(() => {
      this.retry = undefined;
      this.fill();
    }, this.opts.retryMs ?? 1000);
    this.retry.unref();
  }
}
