import type { InStream, OutStream } from '../../context.ts';

/**
 * One line from stdin. On a terminal the prompt goes to stderr and the characters are not echoed
 * (raw mode), so a pasted key does not stay on the screen or in a terminal recording.
 */
export function readSecretLine(
  stdin: InStream,
  stderr: OutStream,
  prompt: string,
  signal: AbortSignal,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const tty = stdin.isTTY === true && typeof stdin.setRawMode === 'function';
    if (tty) {
      stderr.write(prompt);
      stdin.setRawMode!(true);
    }
    let buf = '';
    const done = (err?: Error) => {
      stdin.off('data', onData);
      stdin.off('end', onEnd);
      signal.removeEventListener('abort', onAbort);
      if (tty) {
        stdin.setRawMode!(false);
        stderr.write('\n');
      }
      stdin.pause();
      if (err) reject(err);
      else resolve(buf.trim());
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of chunk.toString('utf8')) {
        if (ch === '\u0003') return done(new Error('interrupted'));
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u007f' || ch === '\b') buf = buf.slice(0, -1);
        else buf += ch;
        if (buf.length > 16 * 1024) return done(new Error('the input is longer than any credential'));
      }
    };
    const onEnd = () => done();
    const onAbort = () => done(new Error('interrupted'));
    stdin.on('data', onData);
    stdin.on('end', onEnd);
    signal.addEventListener('abort', onAbort, { once: true });
    stdin.resume();
  });
}
