import type { secretCommand } from './command.ts';
import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { SecretView } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { renderTable } from '../../output.ts';
import { reportError } from '../../report.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';

function secretsTable(items: SecretView[]): string {
  return renderTable(
    ['NAME', 'NAMESPACE', 'KEYS', 'UPDATED'],
    items.map((s) => [s.name, s.namespace, s.keys.join(','), s.updatedAt]),
  );
}

/** `KEY=VALUE` pairs; a malformed one is named by position, never echoed (it may be the value). */
function literals(values: readonly string[] = []): Record<string, string> {
  const out: Record<string, string> = {};
  values.forEach((item, i) => {
    const eq = item.indexOf('=');
    if (eq <= 0) {
      throw new UsageError(
        `--from-literal number ${i + 1} is not KEY=VALUE (its text is not shown: it may hold the value)`,
        'For example: --from-literal TOKEN=abc123',
      );
    }
    out[item.slice(0, eq)] = item.slice(eq + 1);
  });
  return out;
}

/** `[KEY=]PATH` files, read as bytes; the key defaults to the file's name. */
async function files(client: Client, values: readonly string[] = []): Promise<Record<string, Uint8Array>> {
  const out: Record<string, Uint8Array> = {};
  for (const item of values) {
    const eq = item.indexOf('=');
    const path = eq > 0 ? item.slice(eq + 1) : item;
    const key = eq > 0 ? item.slice(0, eq) : basename(path);
    try {
      out[key] = new Uint8Array(await readFile(resolve(client.cwd, path)));
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === 'ENOENT') throw new CliError(`--from-file: ${path} does not exist`, EXIT.NOT_FOUND);
      if (code === 'EISDIR')
        throw new UsageError(`--from-file: ${path} is a directory; give one file per key`);
      throw err;
    }
  }
  return out;
}

const create: HandlerOf<typeof secretCommand, 'create'> = async (client, { args, opts }) => {
  const name = args[0];
  const stringData = literals(opts.fromLiteral);
  const data = await files(client, opts.fromFile);
  if (Object.keys(stringData).length + Object.keys(data).length === 0) {
    throw new UsageError('give at least one --from-literal KEY=VALUE or --from-file [KEY=]PATH');
  }
  const twice = Object.keys(stringData).filter((k) => k in data);
  if (twice.length) throw new UsageError(`key ${twice.join(', ')} is given twice; give each key once`);
  const namespace = client.settings.namespace;
  const { created, secret } = await client.sdk().secrets.put(
    name,
    {
      ...(Object.keys(stringData).length ? { stringData } : {}),
      ...(Object.keys(data).length ? { data } : {}),
    },
    { ...(namespace ? { namespace } : {}), signal: client.signal },
  );
  client.log(`Secret ${name} ${created ? 'created' : 'replaced'} in namespace ${secret.namespace}.`);
  client.print(secret, () => secretsTable([secret]));
  return EXIT.OK;
};

const list: HandlerOf<typeof secretCommand, 'list'> = async (client) => {
  const namespace = client.settings.namespace;
  const items = await client
    .sdk()
    .secrets.list({ ...(namespace ? { namespace } : {}), signal: client.signal });
  if (client.output === 'table' && items.length === 0) {
    client.log('No secrets. Create one with `agenttier secret create NAME --from-literal KEY=VALUE`.');
    return EXIT.OK;
  }
  client.print(items, () => secretsTable(items));
  return EXIT.OK;
};

const remove: HandlerOf<typeof secretCommand, 'delete'> = async (client, { args }) => {
  const names = args[0];
  const namespace = client.settings.namespace;
  const deleted: { name: string; deleted: true }[] = [];
  let exitCode: number = EXIT.OK;
  for (const name of names) {
    try {
      await client.sdk().secrets.delete(name, { ...(namespace ? { namespace } : {}), signal: client.signal });
      deleted.push({ name, deleted: true });
      client.log(`Secret ${name} deleted.`);
    } catch (err) {
      if (names.length === 1 || client.signal.aborted) throw err;
      const code = reportError(client, err, { commandPath: ['secret', 'delete'], subject: name });
      if (exitCode === EXIT.OK) exitCode = code;
    }
  }
  if (client.output !== 'table' && deleted.length > 0) client.print(deleted, () => '');
  return exitCode;
};

export const secretHandlers: HandlersOf<typeof secretCommand> = { create, list, delete: remove };
