import type { InvokeEvent } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { EXIT, UsageError } from '../../errors.ts';

/**
 * Prints an invoke's events as they come — stdout lines to stdout, stderr lines to stderr; with
 * `-o json` one JSON event per line — and returns the exit code the CLI should end with: the
 * entrypoint's own, 124 for `timeout`, 130 for `canceled`, 1 for `error` or a stream without `exit`.
 */
export async function followInvoke(
  client: Client,
  name: string,
  events: AsyncIterable<InvokeEvent>,
): Promise<number> {
  if (client.output === 'yaml')
    throw new UsageError('invoke and attach support -o table or -o json (one event per line)');
  let exit: Extract<InvokeEvent, { type: 'exit' }> | undefined;
  for await (const ev of events) {
    if (client.output === 'json') client.stdout.write(`${JSON.stringify(ev)}\n`);
    else if (ev.type === 'log')
      (ev.stream === 'stderr' ? client.stderr : client.stdout).write(`${ev.data}\n`);
    if (ev.type === 'exit') exit = ev;
  }
  if (!exit) return EXIT.ERROR;
  const s = client.errorStyle;
  switch (exit.reason) {
    case 'completed':
      return exit.exitCode >= 0 && exit.exitCode <= 255 ? exit.exitCode : EXIT.ERROR;
    case 'timeout':
      client.log(
        `${s.red('Error:')} invoke ${exit.invokeId} hit its time limit after ${(exit.durationMs / 1000).toFixed(1)}s\n` +
          `${s.dim('Hint:')} allow more with --timeout (up to the sandbox's limit), or configure --default-invoke-timeout`,
      );
      return EXIT.TIMED_OUT;
    case 'canceled':
      client.log(`Invoke ${exit.invokeId} was canceled.`);
      return EXIT.INTERRUPTED;
    default:
      client.log(
        `${s.red('Error:')} invoke ${exit.invokeId} ended with reason "${exit.reason}"\n` +
          `${s.dim('Hint:')} see \`agenttier invokes ${name} ${exit.invokeId}\``,
      );
      return EXIT.ERROR;
  }
}
