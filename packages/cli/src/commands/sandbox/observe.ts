import type { sandboxCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import type { SandboxEvent, SandboxUsage } from '@agenttier/sdk';
import { ConflictError } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { formatAge, formatBytes, printable, renderTable, truncate } from '../../output.ts';
import type { HandlerOf } from '../../spec.ts';

function handle(client: Client, name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

const of = (used: number | undefined, limit: number | null | undefined, fmt: (n: number) => string) =>
  used === undefined ? '-' : limit ? `${fmt(used)}/${fmt(limit)}` : fmt(used);
const cores = (n: number) => (n < 10 ? n.toFixed(2) : n.toFixed(0));

/** One `top` row: what is not measured shows `-`. */
export function usageRow(name: string, u: SandboxUsage | undefined): string[] {
  if (!u) return [name, '-', '-', '-', '-', '-'];
  const memPercent =
    u.memory && u.memory.limitBytes
      ? `${Math.round((u.memory.workingSetBytes / u.memory.limitBytes) * 100)}%`
      : '-';
  return [
    name,
    of(u.cpu?.usageCores, u.cpu?.limitCores, cores),
    u.cpu?.percent !== null && u.cpu?.percent !== undefined ? `${Math.round(u.cpu.percent)}%` : '-',
    `${of(u.memory?.workingSetBytes, u.memory?.limitBytes, formatBytes)}${memPercent === '-' ? '' : ` (${memPercent})`}`,
    of(u.pids?.current, u.pids?.max, String),
    of(u.storage?.usedBytes, u.storage?.limitBytes, formatBytes),
  ];
}

/**
 * `agenttier sandbox top [names…]`: CPU, memory, processes and disk of running sandboxes (all running
 * ones the caller may see when no name is given), one measurement each.
 */
export const top: HandlerOf<typeof sandboxCommand, 'top'> = async (client, { args }) => {
  const names = args[0] ?? [];
  const namespace = client.settings.namespace;
  // Without names: every running sandbox the caller may see, each in its own namespace.
  const sandboxes = names.length
    ? names.map((n) => handle(client, n))
    : await client
        .sdk()
        .listSandboxes({ status: 'Running', ...(namespace ? { namespace } : {}), signal: client.signal });
  const rows: Array<{ name: string; usage?: SandboxUsage; error?: string }> = [];
  for (const sb of sandboxes) {
    try {
      rows.push({ name: sb.name, usage: await sb.usage({ signal: client.signal }) });
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      rows.push({ name: sb.name, error: 'not running' });
    }
  }
  client.print(
    rows.map((r) => r.usage ?? { sandboxId: r.name, error: r.error }),
    () =>
      rows.length
        ? renderTable(
            ['NAME', 'CPU (CORES)', 'CPU%', 'MEMORY', 'PIDS', 'DISK'],
            rows.map((r) => usageRow(r.name, r.usage)),
          )
        : 'No running sandboxes.\n',
  );
  return EXIT.OK;
};

/** `agenttier sandbox events <name>`: the events feed, kubectl-style. */
export const events: HandlerOf<typeof sandboxCommand, 'events'> = async (client, { args }) => {
  const list: SandboxEvent[] = await handle(client, args[0]).events({ signal: client.signal });
  client.print(list, () =>
    list.length
      ? renderTable(
          ['LAST SEEN', 'TYPE', 'REASON', 'COUNT', 'MESSAGE'],
          list.map((e) => [
            formatAge(e.lastTimestamp),
            e.type,
            e.reason,
            String(e.count),
            printable(truncate(e.message, 100)), // engine messages can quote what the sandbox chose
          ]),
        )
      : 'No events.\n',
  );
  return EXIT.OK;
};
