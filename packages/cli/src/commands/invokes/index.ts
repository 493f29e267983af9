import type { invokesCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import type { InvokeRecord } from '@agenttier/sdk';
import { formatAge, formatBytes, renderDetails, renderTable } from '../../output.ts';
import type { Style } from '../../output.ts';
import { parseIntFlag } from '../../flags.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { sandboxHandle } from '../sandbox/processes.ts';

function duration(ms: number | undefined): string {
  if (ms === undefined) return '-';
  return ms < 1000 ? `${ms}ms` : `${(ms / 1000).toFixed(1)}s`;
}

function outcome(r: InvokeRecord, style: Style): string {
  if (r.state === 'running') return style.yellow('running');
  const reason = r.reason ?? 'finished';
  if (reason === 'completed') return r.exitCode === 0 ? style.green('completed') : style.red('completed');
  return style.red(reason);
}

export function invokesTable(records: InvokeRecord[], style: Style, now = Date.now()): string {
  const rows = records.map((r) => [
    r.invokeId,
    outcome(r, style),
    r.exitCode === undefined ? '-' : String(r.exitCode),
    formatAge(r.startedAt, now),
    duration(r.durationMs),
    `${formatBytes(r.bytesStdout ?? 0)}/${formatBytes(r.bytesStderr ?? 0)}`,
    r.detached ? 'yes' : 'no',
  ]);
  return renderTable(['INVOKE ID', 'STATUS', 'EXIT', 'AGE', 'DURATION', 'OUT/ERR', 'DETACHED'], rows);
}

function invokeDetails(r: InvokeRecord, style: Style): string {
  const head = renderDetails([
    ['Invoke', r.invokeId],
    ['Sandbox', `${r.namespace}/${r.sandbox}`],
    ['Status', outcome(r, style)],
    ['Exit code', r.exitCode === undefined ? undefined : String(r.exitCode)],
    ['Message', r.message],
    ['Started', r.startedAt],
    ['Finished', r.finishedAt],
    ['Duration', r.durationMs === undefined ? undefined : duration(r.durationMs)],
    ['Output', `${r.bytesStdout ?? 0} bytes stdout, ${r.bytesStderr ?? 0} bytes stderr`],
    ['Detached', r.detached ? 'yes' : 'no'],
  ]);
  const tail = r.outputTail
    ? `\n${style.dim('Output (tail):')}\n${r.outputTail}${r.outputTail.endsWith('\n') ? '' : '\n'}`
    : '';
  return head + tail;
}

const invokes: HandlerOf<typeof invokesCommand, ''> = async (client, { args, opts }) => {
  const name = args[0];
  const one = args[1];
  const agent = sandboxHandle(client, name).agent;
  if (one) {
    const record = await agent.getInvoke(one, { signal: client.signal });
    client.print(record, () => invokeDetails(record, client.style));
    return EXIT.OK;
  }
  const limit = parseIntFlag(opts.limit ?? '100', '--limit', { min: 1, max: 500 });
  const records = await agent.invokes({ limit, signal: client.signal });
  if (client.output === 'table' && records.length === 0) {
    client.log(`No invokes in ${name} yet. Run one with \`agenttier invoke ${name} --prompt "…"\`.`);
    return EXIT.OK;
  }
  client.print(records, () => invokesTable(records, client.style));
  return EXIT.OK;
};

export const invokesHandlers: HandlersOf<typeof invokesCommand> = { '': invokes };
