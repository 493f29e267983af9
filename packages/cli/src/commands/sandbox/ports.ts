import type { sandboxCommand } from './command.ts';
import { spawn } from 'node:child_process';
import { EXIT, UsageError } from '../../errors.ts';
import { renderDetails } from '../../output.ts';
import type { HandlerOf } from '../../spec.ts';
import { sandboxHandle } from './processes.ts';
import { portsTable } from './render.ts';

export function parsePortArg(value: unknown, what = 'PORT', min = 1): number {
  const text = String(value ?? '').trim();
  const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > 65_535) {
    throw new UsageError(`${what} must be a port number between ${min} and 65535, got "${text}"`);
  }
  return n;
}

export const portsList: HandlerOf<typeof sandboxCommand, 'ports list'> = async (client, { args }) => {
  const name = args[0];
  const ports = await sandboxHandle(client, name).ports.list({ signal: client.signal });
  if (client.output === 'table' && ports.length === 0) {
    client.log(
      `No ports forwarded in ${name}. Forward one with \`agenttier sandbox ports forward ${name} PORT\`.`,
    );
    return EXIT.OK;
  }
  client.print(ports, () => portsTable(ports, client.style));
  return EXIT.OK;
};

export const portsForward: HandlerOf<typeof sandboxCommand, 'ports forward'> = async (
  client,
  { args, opts },
) => {
  const name = args[0];
  const port = parsePortArg(args[1]);
  const view = await sandboxHandle(client, name).ports.forward(port, {
    protocol: opts.protocol === 'tcp' ? 'tcp' : 'http',
    signal: client.signal,
  });
  client.print(view, () =>
    renderDetails([
      ['Port', String(view.port)],
      ['Protocol', view.protocol],
      ['Preview URL', view.previewUrl ?? '- (a name with "--" has no preview host; use port-forward)'],
      ['Inside', view.internalUrl],
    ]),
  );
  if (client.output === 'table') {
    client.log(`Or reach it on this machine: agenttier sandbox port-forward ${name} ${port}`);
  }
  return EXIT.OK;
};

export const portsRemove: HandlerOf<typeof sandboxCommand, 'ports remove'> = async (client, { args }) => {
  const name = args[0];
  const port = parsePortArg(args[1]);
  await sandboxHandle(client, name).ports.remove(port, { signal: client.signal });
  if (client.output === 'table') client.log(`Port ${port} of ${name} is no longer forwarded.`);
  else client.print({ name, port, removed: true }, () => '');
  return EXIT.OK;
};

/** Hands a URL to the desktop's browser; false when there is no opener here (a server, a container). */
function openInBrowser(url: string): Promise<boolean> {
  const [cmd, args] =
    process.platform === 'darwin'
      ? ['open', [url]]
      : process.platform === 'win32'
        ? ['cmd', ['/c', 'start', '""', url]]
        : ['xdg-open', [url]];
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.once('error', () => resolve(false));
    child.once('spawn', () => {
      child.unref();
      resolve(true);
    });
  });
}

export const portsPreview: HandlerOf<typeof sandboxCommand, 'ports preview'> = async (
  client,
  { args, opts },
) => {
  const name = args[0];
  const port = parsePortArg(args[1]);
  const path = typeof opts.path === 'string' ? opts.path : undefined;
  const link = await sandboxHandle(client, name).ports.previewLink(port, {
    ...(path !== undefined ? { path } : {}),
    signal: client.signal,
  });
  client.print(link, () => link.url);
  if (opts.open === true && !(await openInBrowser(link.url)))
    client.log('Could not start a browser here; open the link above yourself (within 60 s, once).');
  else if (client.output === 'table') client.log(`Single use, valid until ${link.expiresAt}.`);
  return EXIT.OK;
};
