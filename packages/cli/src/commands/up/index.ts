import { DEFAULT_API_URL } from '@agenttier/sdk';
import { CliError, EXIT } from '../../errors.ts';
import { parseIntFlag, str } from '../../flags.ts';
import type { Handler, HandlerMap } from '../../spec.ts';

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const up: Handler = async (client, { opts }) => {
  const port = parseIntFlag(opts.port, '--port', { min: 0, max: 65_535 });
  const host = str(opts.host) ?? '127.0.0.1';
  const dataDir = str(opts.dataDir);
  const dockerHost = str(opts.dockerHost);
  const logLevel = str(opts.logLevel);
  const limits = {
    ...(opts.maxSandboxes !== undefined
      ? { maxSandboxes: parseIntFlag(opts.maxSandboxes, '--max-sandboxes', { min: 0 }) }
      : {}),
    ...(opts.createRate !== undefined
      ? { createsPerSecond: parseIntFlag(opts.createRate, '--create-rate', { min: 0 }) }
      : {}),
    ...(opts.workspaceQuota !== undefined
      ? { workspaceQuota: str(opts.workspaceQuota) as 'auto' | 'loop' | 'off' }
      : {}),
    ...(opts.createBurst !== undefined
      ? { createBurst: parseIntFlag(opts.createBurst, '--create-burst', { min: 1 }) }
      : {}),
  };
  const list = (flag: unknown, env: string | undefined): string[] =>
    [
      ...(Array.isArray(flag) ? flag.map(String) : []),
      ...(Array.isArray(flag) && flag.length ? [] : (env ?? '').split(',')),
    ]
      .map((s) => s.trim())
      .filter(Boolean);
  const allowedHosts = list(opts.allowedHost, client.env.AGENTTIER_ALLOWED_HOSTS);
  const corsOrigins = list(opts.corsOrigin, client.env.AGENTTIER_CORS_ORIGINS);
  const previewOrigin = str(opts.previewOrigin) ?? client.env.AGENTTIER_PREVIEW_ORIGIN;
  const mod = await client.loadPlatform();
  let platform: { url: string; close(): Promise<void> };
  try {
    platform = await mod.startLocalPlatform({
      host,
      port,
      ...(dataDir ? { dataDir } : {}),
      ...(dockerHost ? { dockerHost } : {}),
      ...(logLevel ? { logLevel } : {}),
      ...limits,
      ...(allowedHosts.length ? { allowedHosts } : {}),
      ...(corsOrigins.length ? { corsOrigins } : {}),
      ...(previewOrigin ? { previewOrigin } : {}),
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'EADDRINUSE') {
      throw new CliError(
        `port ${port} on ${host} is already in use`,
        EXIT.ERROR,
        'Stop whatever holds it (maybe another `agenttier up`), or pick another port with --port',
        { cause: err },
      );
    }
    throw new CliError(
      `could not start the platform: ${(err as Error).message ?? String(err)}`,
      EXIT.ERROR,
      undefined,
      {
        cause: err,
      },
    );
  }

  const s = client.errorStyle;
  const url = platform.url;
  const exportLine = url === DEFAULT_API_URL ? [] : [`  export AGENTTIER_API_URL=${url}`];
  client.log(
    [
      '',
      `${s.green('AgentTier is running')} at ${s.bold(url)}`,
      '',
      'Next, in another terminal:',
      ...exportLine,
      '  agenttier template list',
      '  agenttier sandbox create demo --template general-coding --wait',
      '  agenttier sandbox exec demo -- uname -a',
      '',
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (client.output !== 'table') client.print({ url }, () => '');

  await untilAborted(client.signal);
  client.log('Shutting down…');
  await platform.close();
  client.log('Stopped. Sandboxes keep their state; `agenttier up` picks them up again.');
  return 0;
};

export const upHandlers: HandlerMap = { '': up };
