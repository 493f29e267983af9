import type { templateCommand } from './command.ts';
import { readFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { resolve } from 'node:path';
import type { TemplateView } from '@agenttier/sdk';
import { stringify as toYaml } from 'yaml';
import type { Client } from '../../context.ts';
import { CliError, EXIT } from '../../errors.ts';
import { renderDetails, renderTable, truncate } from '../../output.ts';
import { reportError } from '../../report.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { parseTemplateDocuments } from './manifest.ts';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function scope(client: Client, namespaced: unknown) {
  return namespaced
    ? { kind: 'SandboxTemplate' as const, namespace: client.settings.namespace ?? 'default' }
    : {};
}

function templatesTable(templates: TemplateView[]): string {
  const withNs = templates.some((t) => t.namespace);
  const headers = ['NAME', ...(withNs ? ['NAMESPACE'] : []), 'MODE', 'IMAGE', 'DESCRIPTION'];
  const rows = templates.map((t) => [
    t.name,
    ...(withNs ? [t.namespace ?? '-'] : []),
    t.mode || '-',
    t.image || '-',
    truncate(t.description || '', 60),
  ]);
  return renderTable(headers, rows);
}

function templateDetails(t: TemplateView): string {
  const spec = toYaml(t.spec ?? {}, { lineWidth: 0 })
    .trimEnd()
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return (
    renderDetails([
      ['Name', t.name],
      ['Kind', t.kind],
      ['Namespace', t.namespace],
      ['Description', t.description],
      ['Image', t.image],
      ['Mode', t.mode],
    ]) + `Spec:\n${spec}\n`
  );
}

const list: HandlerOf<typeof templateCommand, 'list'> = async (client) => {
  const namespace = client.settings.namespace;
  const templates = await client
    .sdk()
    .templates.list({ ...(namespace ? { namespace } : {}), signal: client.signal });
  if (client.output === 'table' && templates.length === 0) {
    client.log('No templates found. Create one with `agenttier template apply -f FILE`.');
    return EXIT.OK;
  }
  client.print(templates, () => templatesTable(templates));
  return EXIT.OK;
};

const get: HandlerOf<typeof templateCommand, 'get'> = async (client, { args, opts }) => {
  const t = await client
    .sdk()
    .templates.get(args[0], { ...scope(client, opts.namespaced), signal: client.signal });
  client.print(t, () => templateDetails(t));
  return EXIT.OK;
};

const apply: HandlerOf<typeof templateCommand, 'apply'> = async (client, { opts }) => {
  const file = opts.filename;
  let text: string;
  try {
    text = file === '-' ? await readAll(client.stdin) : await readFile(resolve(client.cwd, file), 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT')
      throw new CliError(`file ${file} does not exist`, EXIT.NOT_FOUND);
    throw err;
  }
  const ns = client.settings.namespace;
  const docs = parseTemplateDocuments(text, {
    file: file === '-' ? 'stdin' : file,
    ...(ns ? { defaultNamespace: ns } : {}),
  });
  const label = (d: { kind: string; name: string }) => `${d.kind.toLowerCase()}/${d.name}`;
  if (opts.dryRun) {
    client.print(docs, () => docs.map((d) => `${label(d)} valid (dry run)\n`).join(''));
    return EXIT.OK;
  }
  const applied: TemplateView[] = [];
  let exitCode: number = EXIT.OK;
  for (const doc of docs) {
    try {
      const { action, template } = await client.sdk().templates.apply(
        {
          name: doc.name,
          kind: doc.kind,
          ...(doc.namespace ? { namespace: doc.namespace } : {}),
          spec: doc.spec,
        },
        { signal: client.signal },
      );
      applied.push(template);
      if (client.output === 'table')
        client.stdout.write(`${label(doc)} ${action === 'created' ? 'created' : 'configured'}\n`);
    } catch (err) {
      if (docs.length === 1 || client.signal.aborted) throw err;
      const code = reportError(client, err, { commandPath: ['template', 'apply'], subject: doc.name });
      if (exitCode === EXIT.OK) exitCode = code;
    }
  }
  if (client.output !== 'table') client.print(applied, () => '');
  return exitCode;
};

const remove: HandlerOf<typeof templateCommand, 'delete'> = async (client, { args, opts }) => {
  const names = args[0];
  const deleted: { name: string; deleted: true }[] = [];
  let exitCode: number = EXIT.OK;
  for (const name of names) {
    try {
      await client.sdk().templates.delete(name, { ...scope(client, opts.namespaced), signal: client.signal });
      deleted.push({ name, deleted: true });
      client.log(`Template ${name} deleted.`);
    } catch (err) {
      if (names.length === 1 || client.signal.aborted) throw err;
      const code = reportError(client, err, { commandPath: ['template', 'delete'], subject: name });
      if (exitCode === EXIT.OK) exitCode = code;
    }
  }
  if (client.output !== 'table' && deleted.length > 0) client.print(deleted, () => '');
  return exitCode;
};

export const templateHandlers: HandlersOf<typeof templateCommand> = { list, get, apply, delete: remove };
