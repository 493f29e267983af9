import type { apikeyCommand } from './command.ts';
import type { whoamiCommand } from './command.ts';
import type { ApiKeyView, ScopedKeyVerb } from '@agenttier/sdk';
import { formatAge, renderDetails, renderTable } from '../../output.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { parseIntFlag, str } from '../../flags.ts';
import type { Client } from '../../context.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';

const METHOD_NAMES: Record<string, string> = {
  'api-key': 'API key',
  session: 'browser session',
  oidc: 'OIDC token',
  'service-account': 'Kubernetes ServiceAccount token',
  dev: 'development authentication (no credential)',
};

/** The identity source: what the server says the credential was, and where the CLI found it. */
function signedInWith(method: string | undefined, client: Client): string {
  const s = client.settings.credentialSource;
  const from =
    s === 'config'
      ? `from ${client.config.path}`
      : s === 'env'
        ? 'from AGENTTIER_API_KEY / AGENTTIER_TOKEN'
        : s === 'flag'
          ? 'from a flag'
          : 'none sent';
  return `${method ? (METHOD_NAMES[method] ?? method) : 'unknown'} (${from})`;
}

const whoami: HandlerOf<typeof whoamiCommand, ''> = async (client) => {
  const me = await client.sdk().currentUser({ signal: client.signal });
  client.print(me, () =>
    renderDetails([
      ['User', me.id],
      ['Name', me.name],
      ['Email', me.email],
      ['Groups', me.groups.length ? me.groups.join(', ') : '-'],
      ['Admin', me.isAdmin ? 'yes' : 'no'],
      ['Signed in with', signedInWith(me.authMethod, client)],
      [
        'Limited to',
        me.scope ? `${me.scope.namespace}/${me.scope.sandbox}: ${me.scope.verbs.join(', ')}` : undefined,
      ],
    ]),
  );
  return EXIT.OK;
};

function keysTable(keys: ApiKeyView[]): string {
  return renderTable(
    ['ID', 'NAME', 'OWNER', 'ADMIN', 'SCOPE', 'CREATED', 'LAST USED', 'EXPIRES'],
    keys.map((k) => [
      k.id,
      k.name,
      k.owner.id,
      k.isAdmin ? 'yes' : 'no',
      k.scope ? `${k.scope.sandbox}: ${k.scope.verbs.join(',')}` : '-',
      formatAge(k.createdAt),
      k.lastUsedAt ? formatAge(k.lastUsedAt) : '-',
      k.expiresAt ?? 'never',
    ]),
  );
}

const create: HandlerOf<typeof apikeyCommand, 'create'> = async (client, { args, opts }) => {
  const name = args[0];
  const days =
    opts.expiresInDays !== undefined
      ? parseIntFlag(opts.expiresInDays, '--expires-in-days', { min: 1, max: 3650 })
      : undefined;
  const sandbox = str(opts.sandbox);
  const verbs = str(opts.verbs);
  if ((sandbox === undefined) !== (verbs === undefined))
    throw new UsageError('--sandbox and --verbs go together: a key for one sandbox needs both');
  const namespace = client.settings.namespace;
  const created = await client.sdk().createApiKey({
    name,
    ...(days !== undefined ? { expiresInDays: days } : {}),
    ...(sandbox !== undefined
      ? {
          sandbox,
          ...(namespace ? { namespace } : {}),
          verbs: verbs!
            .split(',')
            .map((v) => v.trim())
            .filter(Boolean) as ScopedKeyVerb[],
        }
      : {}),
    signal: client.signal,
  });
  client.print(created, () => `${created.key}\n`);
  client.log(
    `Created ${created.id} ("${created.name}"). The key above is shown once: store it now (send it as X-API-Key, or AGENTTIER_API_KEY).`,
  );
  return EXIT.OK;
};

const list: HandlerOf<typeof apikeyCommand, 'list'> = async (client, { opts }) => {
  const keys = await client.sdk().listApiKeys({ all: opts.all === true, signal: client.signal });
  client.print(keys, () => keysTable(keys));
  return EXIT.OK;
};

const revoke: HandlerOf<typeof apikeyCommand, 'revoke'> = async (client, { args }) => {
  const id = args[0];
  await client.sdk().revokeApiKey(id, { signal: client.signal });
  client.log(`Revoked ${id}.`);
  return EXIT.OK;
};

export const whoamiHandlers: HandlersOf<typeof whoamiCommand> = { '': whoami };
export const apikeyHandlers: HandlersOf<typeof apikeyCommand> = { create, list, revoke };
