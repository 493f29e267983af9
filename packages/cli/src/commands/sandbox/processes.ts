import type { sandboxCommand } from './command.ts';
import type { ExecStreamEvent, Sandbox } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { parseIntFlag, str } from '../../flags.ts';
import { renderDetails } from '../../output.ts';
import type { HandlerOf } from '../../spec.ts';
import { processTable } from './render.ts';

export function sandboxHandle(client: Client, name: string): Sandbox {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

export const ps: HandlerOf<typeof sandboxCommand, 'ps'> = async (client, { args }) => {
  const name = args[0];
  const procs = await sandboxHandle(client, name).processes.list({ signal: client.signal });
  if (client.output === 'table' && procs.length === 0) {
    client.log(`No processes in ${name}. Start one with \`agenttier sandbox exec ${name} -d -- COMMAND\`.`);
    return EXIT.OK;
  }
  client.print(procs, () => processTable(procs, client.style));
  return EXIT.OK;
};

/**
 * `logs`: without -f, prints the output produced so far (up to the byte count the process reported
 * when asked) and returns; with -f, follows until the process exits, re-attaching if the stream drops.
 */
export const logs: HandlerOf<typeof sandboxCommand, 'logs'> = async (client, { args, opts }) => {
  const name = args[0];
  const id = args[1];
  if (client.output === 'yaml')
    throw new UsageError('logs supports -o table or -o json (one event per line)');
  const fromOffset =
    opts.fromOffset !== undefined ? parseIntFlag(opts.fromOffset, '--from-offset', { min: 0 }) : undefined;
  const processes = sandboxHandle(client, name).processes;
  const until = opts.follow ? undefined : (await processes.get(id, { signal: client.signal })).outputBytes;
  if (until !== undefined && until <= (fromOffset ?? 0)) return EXIT.OK;

  let exit: Extract<ExecStreamEvent, { type: 'exit' }> | undefined;
  for await (const ev of processes.output(id, {
    signal: client.signal,
    ...(fromOffset !== undefined ? { fromOffset } : {}),
  })) {
    if (client.output === 'json') client.stdout.write(`${JSON.stringify(ev)}\n`);
    else if (ev.type === 'stdout') client.stdout.write(ev.data);
    else if (ev.type === 'stderr') client.stderr.write(ev.data);
    if (ev.type === 'start' && (ev.droppedBytes ?? 0) > 0) {
      client.warn(
        `${ev.droppedBytes} bytes of earlier output are no longer kept; showing from byte ${ev.fromOffset}`,
      );
    }
    if (ev.type === 'exit') exit = ev;
    if (until !== undefined && (ev.type === 'stdout' || ev.type === 'stderr')) {
      const end = ev.nextOffset ?? (ev.offset ?? 0) + Buffer.byteLength(ev.data);
      if (end >= until) break;
    }
  }
  if (exit && opts.follow && client.output === 'table') {
    client.log(
      `Process ${id} exited with code ${exit.exitCode}${exit.signal ? ` (${exit.signal})` : ''}${exit.timedOut ? ' after its timeout' : ''}.`,
    );
  }
  return EXIT.OK;
};

export const kill: HandlerOf<typeof sandboxCommand, 'kill'> = async (client, { args, opts }) => {
  const name = args[0];
  const id = args[1];
  const signal = str(opts.signal);
  const processes = sandboxHandle(client, name).processes;
  const info = signal
    ? await processes.signal(id, signal.toUpperCase(), { signal: client.signal })
    : await processes.kill(id, { signal: client.signal });
  if (client.output !== 'table') {
    client.print(info, () => '');
    return EXIT.OK;
  }
  const sig = signal
    ? signal.toUpperCase().startsWith('SIG')
      ? signal.toUpperCase()
      : `SIG${signal.toUpperCase()}`
    : '';
  client.log(signal ? `Sent ${sig} to process ${id} (pid ${info.pid ?? '-'}).` : `Killed process ${id}.`);
  return EXIT.OK;
};

/** `exec --detach`: starts a background process and prints its id. */
export async function execDetached(
  client: Client,
  name: string,
  command: string | string[],
  opts: { timeoutSec?: number; env?: Record<string, string>; cwd?: string; stdin?: string; label?: string },
): Promise<number> {
  const info = await sandboxHandle(client, name).processes.start(command, {
    ...(opts.timeoutSec !== undefined ? { timeoutSec: opts.timeoutSec } : {}),
    ...(opts.env ? { env: opts.env } : {}),
    ...(opts.cwd ? { cwd: opts.cwd } : {}),
    ...(opts.stdin !== undefined ? { stdin: opts.stdin } : {}),
    ...(opts.label ? { name: opts.label } : {}),
    signal: client.signal,
  });
  if (client.output !== 'table') {
    client.print(info, () => '');
    return EXIT.OK;
  }
  client.stdout.write(`${info.id}\n`);
  client.log(
    renderDetails([
      ['Started', `${info.id} (pid ${info.pid ?? '-'})`],
      ['Output', `agenttier sandbox logs ${name} ${info.id} -f`],
      ['Stop', `agenttier sandbox kill ${name} ${info.id}`],
    ]).trimEnd(),
  );
  return EXIT.OK;
}
