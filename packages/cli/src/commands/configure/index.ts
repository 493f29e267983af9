import type { configureCommand } from './command.ts';
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { ConfigureFile, ConfigureResult } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { CliError, EXIT, UsageError } from '../../errors.ts';
import { parseDurationFlag, parseIntFlag, splitCommandLine, str } from '../../flags.ts';
import { renderDetails } from '../../output.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';
import { sandboxHandle } from '../sandbox/processes.ts';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** `--file /sandbox/path=./local`: UTF-8 files go as `content`, anything else as bytes (base64). */
async function readFiles(client: Client, values: readonly string[] = []): Promise<ConfigureFile[]> {
  const files: ConfigureFile[] = [];
  for (const item of values) {
    const eq = item.indexOf('=');
    const remote = eq > 0 ? item.slice(0, eq) : '';
    const local = eq > 0 ? item.slice(eq + 1) : '';
    if (!remote.startsWith('/') || local === '') {
      throw new UsageError(
        `--file expects /sandbox/path=./local-file, got "${item}"`,
        'For example: --file /workspace/agent.py=./agent.py',
      );
    }
    const path = resolve(client.cwd, local);
    const info = await stat(path).catch((err: unknown) => {
      if ((err as { code?: string }).code === 'ENOENT') {
        throw new CliError(`local file ${local} does not exist`, EXIT.NOT_FOUND);
      }
      throw err;
    });
    if (!info.isFile()) throw new CliError(`${local} is not a regular file`, EXIT.USAGE);
    const bytes = await readFile(path);
    let content: string | Uint8Array;
    try {
      content = utf8.decode(bytes);
    } catch {
      content = new Uint8Array(bytes);
    }
    files.push({ path: remote, content, ...(info.mode & 0o111 ? { mode: 0o755 } : {}) });
  }
  return files;
}

function summary(name: string, r: ConfigureResult): string {
  return renderDetails([
    ['Configured', name],
    ['Install', r.skipped ? 'skipped (already configured)' : `exited ${r.installExitCode}`],
    ['Entrypoint', r.entrypoint?.join(' ')],
    ['Hash', r.installCommandHash ? r.installCommandHash.slice(0, 12) : undefined],
    ['At', r.lastConfiguredAt],
  ]).trimEnd();
}

const configure: HandlerOf<typeof configureCommand, ''> = async (client, { args, opts }) => {
  const name = args[0];
  const files = await readFiles(client, opts.file);
  const install = str(opts.install);
  const entry = str(opts.entrypoint);
  const installCommand = install !== undefined ? splitCommandLine(install, '--install') : undefined;
  const entrypoint = entry !== undefined ? splitCommandLine(entry, '--entrypoint') : undefined;
  if (files.length === 0 && !installCommand && !entrypoint) {
    throw new UsageError(
      'nothing to configure: give --file, --install or --entrypoint',
      `For example: agenttier configure ${name} --file /workspace/agent.py=./agent.py --entrypoint "python3 /workspace/agent.py"`,
    );
  }
  const installTimeout = str(opts.installTimeout);
  if (installTimeout !== undefined) parseDurationFlag(installTimeout, '--install-timeout');
  const defaultInvokeTimeout = str(opts.defaultInvokeTimeout);
  if (defaultInvokeTimeout !== undefined) parseDurationFlag(defaultInvokeTimeout, '--default-invoke-timeout');
  const maxConcurrentInvokes =
    opts.maxConcurrentInvokes !== undefined
      ? parseIntFlag(opts.maxConcurrentInvokes, '--max-concurrent-invokes', { min: 0, max: 1000 })
      : undefined;

  const table = client.output === 'table';
  const result = await sandboxHandle(client, name).agent.configure({
    ...(files.length > 0 ? { files } : {}),
    ...(installCommand ? { installCommand } : {}),
    ...(entrypoint ? { entrypoint } : {}),
    ...(installTimeout ? { installTimeout } : {}),
    ...(defaultInvokeTimeout ? { defaultInvokeTimeout } : {}),
    ...(maxConcurrentInvokes !== undefined ? { maxConcurrentInvokes } : {}),
    // Log lines are the install's output: in table mode to the matching stream, else all to stderr
    // so stdout holds only the result.
    onLog: (line) =>
      (table && line.stream === 'stdout' ? client.stdout : client.stderr).write(`${line.data}\n`),
    signal: client.signal,
  });
  if (table) client.log(summary(name, result));
  else client.print(result, () => '');
  if (result.installExitCode !== 0) {
    client.log(
      `${client.errorStyle.red('Error:')} the install command exited with code ${result.installExitCode}; the configuration was not saved\n` +
        `${client.errorStyle.dim('Hint:')} fix it and configure again; its output is above`,
    );
    return EXIT.ERROR;
  }
  return EXIT.OK;
};

export const configureHandlers: HandlersOf<typeof configureCommand> = { '': configure };
