import type { sandboxCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import type { Handler, HandlerOf } from '../../spec.ts';
import { printable } from '../../output.ts';
import { filesTable } from './render.ts';

function filesOf(client: Parameters<Handler>[0], name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {}).files;
}

export const filesLs: HandlerOf<typeof sandboxCommand, 'files ls'> = async (client, { args }) => {
  const path = args[1] ?? '/workspace';
  const entries = await filesOf(client, args[0]).list(path, { signal: client.signal });
  if (client.output === 'table' && entries.length === 0) {
    client.log(`${path} is empty.`);
    return EXIT.OK;
  }
  client.print(entries, () => filesTable(entries, client.style));
  return EXIT.OK;
};

export const filesCat: HandlerOf<typeof sandboxCommand, 'files cat'> = async (client, { args }) => {
  const bytes = await filesOf(client, args[0]).read(args[1], { signal: client.signal });
  client.stdout.write(bytes);
  return EXIT.OK;
};

export const filesStat: HandlerOf<typeof sandboxCommand, 'files stat'> = async (client, { args }) => {
  const entry = await filesOf(client, args[0]).stat(args[1], { signal: client.signal });
  client.print(entry, () => filesTable([entry], client.style));
  return EXIT.OK;
};

export const filesMkdir: HandlerOf<typeof sandboxCommand, 'files mkdir'> = async (client, { args, opts }) => {
  const entry = await filesOf(client, args[0]).mkdir(args[1], {
    parents: opts.parents === true,
    signal: client.signal,
  });
  client.print(entry, () => `Created ${entry.path}`);
  return EXIT.OK;
};

export const filesMv: HandlerOf<typeof sandboxCommand, 'files mv'> = async (client, { args, opts }) => {
  const entry = await filesOf(client, args[0]).rename(args[1], args[2], {
    overwrite: opts.force === true,
    signal: client.signal,
  });
  client.print(entry, () => `Moved ${args[1]} to ${entry.path}`);
  return EXIT.OK;
};

export const filesRm: HandlerOf<typeof sandboxCommand, 'files rm'> = async (client, { args, opts }) => {
  const files = filesOf(client, args[0]);
  const path = args[1];
  await files.remove(path, { recursive: opts.recursive === true, signal: client.signal });
  client.log(`Removed ${path}`);
  return EXIT.OK;
};

/** Prints one line per change until Ctrl-C (`-o json`: one JSON object per line). */
export const filesWatch: HandlerOf<typeof sandboxCommand, 'files watch'> = async (client, { args, opts }) => {
  const path = args[1] ?? '/workspace';
  const changes = filesOf(client, args[0]).watch(path, {
    recursive: opts.recursive !== false,
    signal: client.signal,
  });
  client.log(`Watching ${path} for changes; press Ctrl-C to stop.`);
  for await (const change of changes) {
    if (client.output === 'table')
      client.stdout.write(`${change.type.padEnd(8)} ${printable(change.path)}\n`);
    else client.stdout.write(`${JSON.stringify(change)}\n`);
  }
  return EXIT.OK;
};
