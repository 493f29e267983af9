import type { Handler } from '../../spec.ts';
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
    return 0;
  }
  client.print(entries, () => filesTable(entries, client.style));
  return 0;
};

export const filesCat: Handler = async (client, { args }) => {
  const bytes = await filesOf(client, args[0] as string).read(args[1] as string, { signal: client.signal });
  client.stdout.write(bytes);
  return 0;
};
