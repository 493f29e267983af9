import { EXIT } from '../../errors.ts';
import type { Handler } from '../../spec.ts';
import { printable } from '../../output.ts';
import { filesTable } from './render.ts';

function filesOf(client: Parameters<Handler>[0], name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {}).files;
}

export const filesLs: Handler = async (client, { args }) => {
  const path = (args[1] as string | undefined) ?? '/workspace';
  const entries = await filesOf(client, args[0] as string).list(path, { signal: client.signal });
  if (client.output === 'table' && entries.length === 0) {
    client.log(`${path} is empty.`);
    return EXIT.OK;
  }
  client.print(entries, () => filesTable(entries, client.style));
  return EXIT.OK;
};

export const filesCat: Handler = async (client, { args }) => {
  const bytes = await filesOf(client, args[0] as string).read(args[1] as string, { signal: client.signal });
  client.stdout.write(bytes);
  return EXIT.OK;
};

export const filesStat: Handler = async (client, { args }) => {
  const entry = await filesOf(client, args[0] as string).stat(args[1] as string, { signal: client.signal });
  client.print(entry, () => filesTable([entry], client.style));
  return EXIT.OK;
};

export const filesMkdir: Handler = async (client, { args, opts }) => {
  const entry = await filesOf(client, args[0] as string).mkdir(args[1] as string, {
    parents: opts.parents === true,
    signal: client.signal,
  });
  client.print(entry, () => `Created ${entry.path}`);
  return EXIT.OK;
};

export const filesMv: Handler = async (client, { args, opts }) => {
  const entry = await filesOf(client, args[0] as string).rename(args[1] as string, args[2] as string, {
    overwrite: opts.force === true,
    signal: client.signal,
  });
  client.print(entry, () => `Moved ${args[1] as string} to ${entry.path}`);
  return EXIT.OK;
};

export const filesRm: Handler = async (client, { args, opts }) => {
  const files = filesOf(client, args[0] as string);
  const path = args[1] as string;
  await files.remove(path, { recursive: opts.recursive === true, signal: client.signal });
  client.log(`Removed ${path}`);
  return EXIT.OK;
};

/** Prints one line per change until Ctrl-C (`-o json`: one JSON object per line). */
export const filesWatch: Handler = async (client, { args, opts }) => {
  const path = (args[1] as string | undefined) ?? '/workspace';
  const changes = filesOf(client, args[0] as string).watch(path, {
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
