import type { Writable } from 'node:stream';
import ora from 'ora';

/** Progress for long waits: an ora spinner on a terminal, one line per change otherwise. */
export interface Progress {
  update(text: string): void;
  succeed(text: string): void;
  fail(text: string): void;
  stop(): void;
}

export function createProgress(
  stream: Writable & { isTTY?: boolean },
  text: string,
  interactive: boolean,
): Progress {
  if (interactive) {
    const spinner = ora({
      text,
      stream: stream as NodeJS.WritableStream & { isTTY?: boolean },
      discardStdin: false,
    });
    spinner.start();
    return {
      update: (t) => {
        spinner.text = t;
      },
      succeed: (t) => void spinner.succeed(t),
      fail: (t) => void spinner.fail(t),
      stop: () => void spinner.stop(),
    };
  }
  let last = text;
  stream.write(`${text}\n`);
  return {
    update: (t) => {
      if (t !== last) stream.write(`${t}\n`);
      last = t;
    },
    succeed: (t) => void stream.write(`${t}\n`),
    fail: (t) => void stream.write(`${t}\n`),
    stop: () => {},
  };
}
