import type { sandboxCommand } from './command.ts';
import { StringDecoder } from 'node:string_decoder';
import { AgentTierError, type TerminalEnd } from '@agenttier/sdk';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { describeKeys, parseDetachKeys, str } from '../../flags.ts';
import type { HandlerOf } from '../../spec.ts';
import { sandboxHandle } from './processes.ts';

const SESSION_RE = /^[A-Za-z0-9._-]{1,64}$/;
/** End of transmission: what a terminal sends for Ctrl-D; ends the shell at an empty prompt. */
const EOT = '\u0004';

/**
 * Watches keystrokes for the detach sequence. Bytes that start the sequence are held back until it
 * either completes (detach) or breaks off (they are sent after all).
 */
export class DetachMatcher {
  private held = 0;
  constructor(private readonly keys: number[]) {}

  /** Returns the bytes to send and whether the sequence completed (bytes after it are dropped). */
  feed(chunk: Buffer): { send: Buffer; detach: boolean } {
    if (this.keys.length === 0) return { send: chunk, detach: false };
    const out: number[] = [];
    for (const byte of chunk) {
      if (byte === this.keys[this.held]) {
        this.held++;
        if (this.held === this.keys.length) {
          this.held = 0;
          return { send: Buffer.from(out), detach: true };
        }
        continue;
      }
      if (this.held > 0) {
        out.push(...this.keys.slice(0, this.held));
        this.held = 0;
      }
      if (byte === this.keys[0]) {
        this.held = 1;
        if (this.keys.length === 1) return { send: Buffer.from(out), detach: true };
      } else {
        out.push(byte);
      }
    }
    return { send: Buffer.from(out), detach: false };
  }
}

function endMessage(end: TerminalEnd): string {
  return end.message ? `${end.reason}: ${end.message}` : end.reason;
}

/**
 * `sandbox terminal`: a shell over the terminal WebSocket. On a TTY it switches stdin to raw mode,
 * follows window resizes and watches for the detach keys; with piped stdin it sends the input and,
 * at its end, Ctrl-D. Exits with the shell's exit code when the shell ends.
 */
export const terminal: HandlerOf<typeof sandboxCommand, 'terminal'> = async (client, { args, opts }) => {
  const name = args[0];
  const session = str(opts.session) ?? 'main';
  if (!SESSION_RE.test(session)) {
    throw new UsageError(`--session must be 1-64 letters, digits, ".", "_" or "-", got "${session}"`);
  }
  const detachKeys = parseDetachKeys(opts.detachKeys ?? 'ctrl-],d');
  const shell = str(opts.shell);
  const stdin = client.stdin;
  const stdout = client.stdout;
  const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
  const size =
    stdout.isTTY && stdout.columns && stdout.rows ? { cols: stdout.columns, rows: stdout.rows } : {};
  // Terminal output is in raw mode: line ends need a carriage return of their own.
  const note = (text: string) => client.stderr.write(`${tty ? '\r\n' : ''}${text}${tty ? '\r\n' : '\n'}`);

  const term = await sandboxHandle(client, name).terminal({
    session,
    ...size,
    ...(shell ? { shell } : {}),
    reconnect: opts.reconnect !== false,
    signal: client.signal,
  });

  const detachHint =
    tty && detachKeys.length > 0 ? ` Detach with ${describeKeys(detachKeys)}; the shell keeps running.` : '';
  client.log(`Connected to ${name} (session ${session}).${detachHint}`);

  let detached = false;
  const matcher = new DetachMatcher(tty ? detachKeys : []);
  const decoder = new StringDecoder('utf8');
  const onData = (chunk: Buffer | string): void => {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const { send, detach } = matcher.feed(bytes);
    const text = decoder.write(send);
    if (text) term.write(text);
    if (detach) {
      detached = true;
      term.close();
    }
  };
  const onEnd = (): void => {
    const rest = decoder.end();
    if (rest) term.write(rest);
    // Like ssh with piped input: the end of input is an end of file for the shell.
    if (!tty) term.write(EOT);
  };
  const onResize = (): void => {
    if (stdout.columns && stdout.rows) term.resize(stdout.columns, stdout.rows);
  };

  term.on('output', (text) => stdout.write(text));
  term.on('error', (message) => note(`[agenttier] terminal error: ${message}`));
  term.on('reconnecting', ({ attempt, maxAttempts, delayMs }) => {
    if (attempt === 1) note(`[agenttier] connection lost; reconnecting to session ${session}…`);
    else
      note(
        `[agenttier] still reconnecting (attempt ${attempt}/${maxAttempts}, next in ${(delayMs / 1000).toFixed(1)}s)…`,
      );
  });
  term.on('reconnected', () => note(`[agenttier] reconnected to session ${session}`));

  if (tty) stdin.setRawMode?.(true);
  stdin.on('data', onData);
  stdin.on('end', onEnd);
  stdin.resume();
  stdout.on('resize', onResize);

  let end: TerminalEnd;
  try {
    end = await term.ended;
  } finally {
    stdin.off('data', onData);
    stdin.off('end', onEnd);
    stdout.off('resize', onResize);
    if (tty) stdin.setRawMode?.(false);
    stdin.pause();
  }

  if (end.reason === 'detached') {
    if (client.signal.aborted && !detached) return EXIT.INTERRUPTED;
    note(`Detached from session ${session} of ${name}; the shell keeps running.`);
    client.log(`Re-attach with: agenttier sandbox terminal ${name} --session ${session}`);
    return EXIT.OK;
  }
  if (end.reason === 'session_ended') {
    const code = typeof end.exitCode === 'number' ? end.exitCode : 0;
    return code >= 0 && code <= 255 ? code : 1;
  }
  if (end.reason === 'connection_lost') {
    if (end.error instanceof AgentTierError) throw end.error;
    throw new CliError(
      `lost the connection to the terminal of ${name}: ${end.message ?? 'connection closed'}`,
      EXIT.UNREACHABLE,
      `Re-attach with \`agenttier sandbox terminal ${name} --session ${session}\` when the server is back`,
    );
  }
  throw new CliError(
    `the terminal closed (${endMessage(end)})`,
    EXIT.ERROR,
    end.reason === 'sandbox_stopped'
      ? `Resume the sandbox with \`agenttier sandbox resume ${name}\``
      : undefined,
  );
};
