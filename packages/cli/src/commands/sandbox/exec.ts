import type { sandboxCommand } from './command.ts';
import type { Readable } from 'node:stream';
import { MAX_EXEC_TIMEOUT_SECONDS } from '@agenttier/contract';
import type { ExecOpts, ExecStreamEvent } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { parseIntFlag, parseKeyValues, str } from '../../flags.ts';
import type { HandlerOf } from '../../spec.ts';
import { execDetached } from './processes.ts';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function sandboxHandle(client: Client, name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

/** `--stream`: output as it happens over server-sent events; `-o json` prints one event per line. */
async function streamed(
  client: Client,
  name: string,
  command: string | string[],
  opts: ExecOpts,
  timeoutSec: number | undefined,
): Promise<number> {
  if (client.output === 'yaml')
    throw new UsageError('--stream supports -o table or -o json (one event per line)');
  let exit: Extract<ExecStreamEvent, { type: 'exit' }> | undefined;
  for await (const ev of sandboxHandle(client, name).execStream(command, opts)) {
    if (client.output === 'json') client.stdout.write(`${JSON.stringify(ev)}\n`);
    else if (ev.type === 'stdout') client.stdout.write(ev.data);
    else if (ev.type === 'stderr') client.stderr.write(ev.data);
    if (ev.type === 'exit') exit = ev;
  }
  if (exit?.timedOut) {
    client.log(
      `${client.errorStyle.red('Error:')} the command timed out${timeoutSec ? ` after ${timeoutSec}s` : ''}\n` +
        `${client.errorStyle.dim('Hint:')} allow more time with --timeout SECONDS`,
    );
    return EXIT.TIMED_OUT;
  }
  const code = exit?.exitCode ?? 1;
  return code >= 0 && code <= 255 ? code : 1;
}

export const exec: HandlerOf<typeof sandboxCommand, 'exec'> = async (client, { args, opts }) => {
  const name = args[0];
  const words = args[1] ?? [];
  if (words.length === 0) {
    throw new UsageError(
      'give the command to run after --',
      `For example: agenttier sandbox exec ${name} -- ls -la`,
    );
  }
  const command = opts.shell ? words.join(' ') : words;
  const timeoutSec =
    opts.timeout !== undefined
      ? parseIntFlag(opts.timeout, '--timeout', {
          min: 1,
          // Background processes may run for up to a week; foreground ones for an hour.
          max: opts.detach ? 7 * 24 * 3600 : MAX_EXEC_TIMEOUT_SECONDS,
        })
      : undefined;
  const env = parseKeyValues(opts.env, '--env');
  const cwd = str(opts.cwd);
  const stdin = opts.stdin ? await readAll(client.stdin) : undefined;

  if (opts.detach) {
    if (opts.stream)
      throw new UsageError(
        '--detach and --stream do not go together',
        'Follow a detached process with `agenttier sandbox logs NAME ID -f`',
      );
    const label = str(opts.name);
    return execDetached(client, name, command, {
      ...(timeoutSec !== undefined ? { timeoutSec } : {}),
      ...(env ? { env } : {}),
      ...(cwd ? { cwd } : {}),
      ...(stdin !== undefined ? { stdin } : {}),
      ...(label ? { label } : {}),
    });
  }

  const execOpts = {
    ...(timeoutSec !== undefined ? { timeoutSec } : {}),
    ...(env ? { env } : {}),
    ...(cwd ? { cwd } : {}),
    ...(stdin !== undefined ? { stdin } : {}),
    signal: client.signal,
  };
  if (opts.stream) return streamed(client, name, command, execOpts, timeoutSec);

  const result = await sandboxHandle(client, name).exec(command, execOpts);

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
    return EXIT.TIMED_OUT;
  }
  const only = words[0] ?? '';
  if (result.exitCode === 127 && !opts.shell && words.length === 1 && /\s/.test(only)) {
    client.log(
      `${client.errorStyle.dim('Hint:')} "${only}" was run as one program name; add --shell to run it through /bin/sh`,
    );
  }
  return result.exitCode >= 0 && result.exitCode <= 255 ? result.exitCode : EXIT.ERROR;
};
