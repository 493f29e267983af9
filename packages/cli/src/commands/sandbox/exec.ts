import type { Readable } from 'node:stream';
import { MAX_EXEC_TIMEOUT_SECONDS } from '@agenttier/contract';
import type { Client } from '../../context.ts';
import { UsageError } from '../../errors.ts';
import { parseIntFlag, parseKeyValues, str } from '../../flags.ts';
import type { Handler } from '../../spec.ts';

/** Exit status for a command the server gave up on, as `timeout(1)` uses. */
export const EXIT_TIMED_OUT = 124;

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function sandboxHandle(client: Client, name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

export const exec: Handler = async (client, { args, opts }) => {
  const name = args[0] as string;
  const words = (args[1] as string[] | undefined) ?? [];
  if (words.length === 0) {
    throw new UsageError(
      'give the command to run after --',
      `For example: agenttier sandbox exec ${name} -- ls -la`,
    );
  }
  const command = opts.shell ? words.join(' ') : words;
  const timeoutSec =
    opts.timeout !== undefined
      ? parseIntFlag(opts.timeout, '--timeout', { min: 1, max: MAX_EXEC_TIMEOUT_SECONDS })
      : undefined;
  const env = parseKeyValues(opts.env, '--env');
  const cwd = str(opts.cwd);
  const stdin = opts.stdin ? await readAll(client.stdin) : undefined;

  const result = await sandboxHandle(client, name).exec(command, {
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(env ? { env } : {}),
    ...(cwd ? { cwd } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
    signal: client.signal,
  });

  if (client.output === 'table') {
    client.stdout.write(result.stdout);
    client.stderr.write(result.stderr);
  } else {
    client.print(result, () => '');
  }
  if (result.truncated) client.warn('the output was truncated by the server');
  if (result.timedOut) {
    client.log(
      `${client.errorStyle.red('Error:')} the command timed out after ${timeoutSec ?? 30}s\n` +
        `${client.errorStyle.dim('Hint:')} allow more time with --timeout SECONDS`,
    );
    return EXIT_TIMED_OUT;
  }
  const only = words[0] ?? '';
  if (result.exitCode === 127 && !opts.shell && words.length === 1 && /\s/.test(only)) {
    client.log(
      `${client.errorStyle.dim('Hint:')} "${only}" was run as one program name; add --shell to run it through /bin/sh`,
    );
  }
  return result.exitCode >= 0 && result.exitCode <= 255 ? result.exitCode : 1;
};
