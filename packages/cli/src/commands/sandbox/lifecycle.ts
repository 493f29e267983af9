import type { sandboxCommand } from './command.ts';
import type { CredentialRef, Sandbox, SandboxView } from '@agenttier/sdk';
import type { Client } from '../../context.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { parseDurationFlag, parseKeyValues, str } from '../../flags.ts';
import { reportError } from '../../report.ts';
import type { HandlerOf } from '../../spec.ts';
import { sandboxDetails, sandboxTable } from './render.ts';

type Target = 'Running' | 'Stopped' | 'Deleted';

function pollIntervalMs(client: Client): number {
  const fromEnv = Number(client.env.AGENTTIER_POLL_INTERVAL_MS);
  return Number.isFinite(fromEnv) && fromEnv > 0 ? fromEnv : 1000;
}

function handle(client: Client, name: string): Sandbox {
  const namespace = client.settings.namespace;
  return client.sdk().sandbox(name, namespace ? { namespace } : {});
}

/** Polls until the target phase with a spinner (or status lines) on stderr. */
export async function waitFor(
  client: Client,
  sandbox: Sandbox,
  target: Target,
  timeoutMs: number,
): Promise<void> {
  const started = Date.now();
  const goal = target === 'Deleted' ? 'gone' : target;
  const progress = client.progress(`Waiting for ${sandbox.name} to be ${goal}…`);
  const opts = {
    timeoutMs,
    pollIntervalMs: pollIntervalMs(client),
    signal: client.signal,
    onPhase: (phase: string) => progress.update(`Waiting for ${sandbox.name} to be ${goal}: ${phase}`),
  };
  try {
    if (target === 'Running') await sandbox.waitUntilRunning(opts);
    else if (target === 'Stopped') await sandbox.waitUntilStopped(opts);
    else await sandbox.waitUntilDeleted(opts);
  } catch (err) {
    progress.stop();
    throw err;
  }
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  progress.succeed(`${sandbox.name} ${target === 'Deleted' ? 'is deleted' : `is ${target}`} (${seconds}s)`);
}

function printOne(client: Client, views: SandboxView[] | Record<string, unknown>[], single: boolean): void {
  if (client.output === 'table') return;
  client.print(single ? views[0] : views, () => '');
}

/** `--secret-env SECRET[=PREFIX]` and `--secret-file SECRET=DIR` as the create body's `credentials`. */
export function credentialFlags(env: readonly string[] = [], file: readonly string[] = []): CredentialRef[] {
  const out: CredentialRef[] = [];
  for (const item of env) {
    const [secretName, prefix] = item.split('=', 2) as [string, string | undefined];
    out.push({ secretName, ...(prefix ? { envPrefix: prefix } : {}) });
  }
  for (const item of file) {
    const eq = item.indexOf('=');
    if (eq <= 0)
      throw new UsageError(
        `--secret-file expects SECRET=DIR, got "${item}"`,
        'For example: --secret-file ssh=/credentials/ssh',
      );
    out.push({ secretName: item.slice(0, eq), mountAs: 'file', mountPath: item.slice(eq + 1) });
  }
  return out;
}

export const create: HandlerOf<typeof sandboxCommand, 'create'> = async (client, { args, opts }) => {
  const name = args[0];
  const waitMs = opts.wait ? parseDurationFlag(opts.waitTimeout, '--wait-timeout') : 0;
  const env = parseKeyValues(opts.env, '--env');
  const labels = parseKeyValues(opts.label, '--label');
  const credentials = credentialFlags(opts.secretEnv, opts.secretFile);
  const namespace = client.settings.namespace;
  const sandbox = await client.sdk().createSandbox({
    name,
    template: opts.template,
    ...(namespace ? { namespace } : {}),
    ...(opts.mode ? { mode: opts.mode } : {}),
    ...(str(opts.timeout) ? { timeout: opts.timeout } : {}),
    ...(str(opts.idleTimeout) ? { idleTimeout: opts.idleTimeout } : {}),
    ...(str(opts.storageSize) ? { storageSize: opts.storageSize } : {}),
    ...(env ? { env } : {}),
    ...(labels ? { labels } : {}),
    ...(credentials.length ? { credentials } : {}),
    signal: client.signal,
  });
  client.log(`Sandbox ${name} created (${sandbox.status}).`);
  if (opts.wait) await waitFor(client, sandbox, 'Running', waitMs);
  client.print(sandbox.info, () => sandboxTable([sandbox.info], client.style));
  if (client.output === 'table') {
    client.log(
      opts.wait
        ? `Run a command: agenttier sandbox exec ${name} -- uname -a`
        : `Wait for it: agenttier sandbox get ${name}  (or create with --wait next time)`,
    );
  }
  return EXIT.OK;
};

export const list: HandlerOf<typeof sandboxCommand, 'list'> = async (client, { opts }) => {
  const namespace = client.settings.namespace;
  const status = str(opts.status);
  const sandboxes = await client.sdk().listSandboxes({
    ...(namespace ? { namespace } : {}),
    ...(status ? { status } : {}),
    signal: client.signal,
  });
  const views = sandboxes.map((s) => s.info);
  if (client.output === 'table' && views.length === 0) {
    const where = [namespace ? `in namespace ${namespace}` : '', status ? `with status ${status}` : '']
      .filter(Boolean)
      .join(' ');
    client.log(
      `No sandboxes found${where ? ` ${where}` : ''}. Create one with \`agenttier sandbox create NAME --template general-coding\`.`,
    );
    return EXIT.OK;
  }
  client.print(views, () => sandboxTable(views, client.style));
  return EXIT.OK;
};

export const get: HandlerOf<typeof sandboxCommand, 'get'> = async (client, { args }) => {
  const namespace = client.settings.namespace;
  const sandbox = await client.sdk().getSandbox(args[0], {
    ...(namespace ? { namespace } : {}),
    signal: client.signal,
  });
  client.print(sandbox.info, () => sandboxDetails(sandbox.info, client.style));
  return EXIT.OK;
};

/**
 * Runs `action` for each name; with several names a failure is reported and the rest still run.
 * Returns the exit code of the first failure (0 when all succeeded).
 */
async function eachName(
  client: Client,
  names: string[],
  command: string,
  action: (name: string) => Promise<Record<string, unknown>>,
): Promise<number> {
  const results: Record<string, unknown>[] = [];
  let exitCode: number = EXIT.OK;
  for (const name of names) {
    try {
      results.push(await action(name));
    } catch (err) {
      if (names.length === 1 || client.signal.aborted) throw err;
      const code = reportError(client, err, { commandPath: ['sandbox', command], subject: name });
      if (exitCode === EXIT.OK) exitCode = code;
    }
  }
  if (results.length > 0) printOne(client, results, names.length === 1);
  return exitCode;
}

function transition<C extends 'stop' | 'resume'>(
  command: C,
  target: 'Stopped' | 'Running',
): HandlerOf<typeof sandboxCommand, C> {
  return async (client, { args, opts }) => {
    const names = args[0];
    const waitMs = opts.wait ? parseDurationFlag(opts.waitTimeout, '--wait-timeout') : 0;
    return eachName(client, names, command, async (name) => {
      const sandbox = handle(client, name);
      if (command === 'stop') await sandbox.stop({ signal: client.signal });
      else await sandbox.resume({ signal: client.signal });
      if (opts.wait) {
        await waitFor(client, sandbox, target, waitMs);
      } else {
        client.log(`${command === 'stop' ? 'Stopping' : 'Resuming'} ${name}.`);
        await sandbox.refresh({ signal: client.signal });
      }
      return { ...sandbox.info };
    });
  };
}

export const stop = transition('stop', 'Stopped');
export const resume = transition('resume', 'Running');

export const remove: HandlerOf<typeof sandboxCommand, 'delete'> = async (client, { args, opts }) => {
  const names = args[0];
  const waitMs = opts.wait ? parseDurationFlag(opts.waitTimeout, '--wait-timeout') : 0;
  return eachName(client, names, 'delete', async (name) => {
    const sandbox = handle(client, name);
    await sandbox.delete({ signal: client.signal });
    if (opts.wait) {
      await waitFor(client, sandbox, 'Deleted', waitMs);
      return { name, status: 'Deleted' };
    }
    client.log(`Deleting ${name}.`);
    return { name, status: 'Deleting' };
  });
};
