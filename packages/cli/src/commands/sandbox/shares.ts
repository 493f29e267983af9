import type { sandboxCommand } from './command.ts';
import { EXIT } from '../../errors.ts';
import type { SandboxRole } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { formatAge, renderTable } from '../../output.ts';
import type { HandlerOf } from '../../spec.ts';

function handle(client: Client, name: string) {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

export const share: HandlerOf<typeof sandboxCommand, 'share'> = async (client, { args, opts }) => {
  const [name, user] = args as [string, string];
  const shared = await handle(client, name).share(user, opts.role as SandboxRole, { signal: client.signal });
  client.print(shared, () => '');
  client.log(`Shared ${name} with ${user} as ${shared.role}.`);
  return EXIT.OK;
};

export const unshare: HandlerOf<typeof sandboxCommand, 'unshare'> = async (client, { args }) => {
  const [name, user] = args as [string, string];
  await handle(client, name).unshare(user, { signal: client.signal });
  client.log(`${name} is no longer shared with ${user}.`);
  return EXIT.OK;
};

export const shares: HandlerOf<typeof sandboxCommand, 'shares'> = async (client, { args }) => {
  const list = await handle(client, args[0]).shares({ signal: client.signal });
  client.print(list, () =>
    list.length
      ? renderTable(
          ['USER', 'ROLE', 'SHARED', 'BY'],
          list.map((s) => [s.user, s.role, formatAge(s.sharedAt), s.sharedBy ?? '-']),
        )
      : 'Not shared with anyone.\n',
  );
  return EXIT.OK;
};
