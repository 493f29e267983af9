import type { upCommand } from './command.ts';
import { DEFAULT_API_URL } from '@agenttier/sdk';
import { saveConfig } from '../../config.ts';
import { CliError, EXIT } from '../../errors.ts';
import type { Client } from '../../context.ts';
import { parseIntFlag, str } from '../../flags.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';

function untilAborted(signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

const up: HandlerOf<typeof upCommand, ''> = async (client, { opts }) => {
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
  const devAuth = opts.devAuth === true;
  const tlsCertPath = str(opts.tlsCert) ?? client.env.AGENTTIER_TLS_CERT;
  const tlsKeyPath = str(opts.tlsKey) ?? client.env.AGENTTIER_TLS_KEY;
  // Flags over the environment; the platform parses and checks the result (oidcSettingsFromEnv).
  const oidcEnv: Record<string, string | undefined> = {
    ...Object.fromEntries(Object.entries(client.env).filter(([k]) => k.startsWith('AGENTTIER_OIDC_'))),
    ...(str(opts.oidcIssuer) ? { AGENTTIER_OIDC_ISSUER: str(opts.oidcIssuer) } : {}),
    ...(str(opts.oidcAudience) ? { AGENTTIER_OIDC_AUDIENCE: str(opts.oidcAudience) } : {}),
    ...(str(opts.oidcClientId) ? { AGENTTIER_OIDC_CLIENT_ID: str(opts.oidcClientId) } : {}),
    ...(str(opts.oidcAdminGroup) ? { AGENTTIER_OIDC_ADMIN_GROUP: str(opts.oidcAdminGroup) } : {}),
  };
  const mod = await client.loadPlatform();
  let platform: Awaited<ReturnType<typeof mod.startLocalPlatform>>;
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
      ...(devAuth ? { devAuth } : {}),
      ...(Object.keys(oidcEnv).length ? { oidcEnv } : {}),
      ...(tlsCertPath ? { tlsCertPath } : {}),
      ...(tlsKeyPath ? { tlsKeyPath } : {}),
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
  const keyLines =
    devAuth || !platform.ensureAdminKey
      ? devAuthLines(client)
      : await adminKeyLines(client, platform.ensureAdminKey, url);
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
      `MCP clients (streamable HTTP): ${url}/mcp, with an API key in X-API-Key (docs/mcp.md)`,
      '',
      ...keyLines,
      'Press Ctrl-C to stop.',
      '',
    ].join('\n'),
  );
  if (client.output !== 'table') client.print({ url }, () => '');

  await untilAborted(client.signal);
  client.log('Shutting down…');
  await platform.close();
  client.log('Stopped. Sandboxes keep their state; `agenttier up` picks them up again.');
  return EXIT.OK;
};

function devAuthLines(client: Client): string[] {
  const s = client.errorStyle;
  return [
    s.yellow('WARNING: --dev-auth: every caller on this machine without a key is an admin.'),
    s.yellow(
      'Any local user or process (and any page that gets past the browser checks) can drive your sandboxes.',
    ),
    '',
  ];
}

/**
 * The admin key of this platform: the CLI config's when it is valid here, else a new one, saved in the
 * CLI config (0600) when that config is not set up for another server, else printed once.
 */
async function adminKeyLines(
  client: Client,
  ensure: (existing?: string) => Promise<{ key: string; created: boolean }>,
  url: string,
): Promise<string[]> {
  const values = client.config.values;
  const path = client.config.path;
  const { key, created } = await ensure(values.api_key);
  const elsewhere = `From another machine: send the key as X-API-Key (AGENTTIER_API_KEY for the CLI and SDK); it is api_key in ${path}.`;
  if (!created) return [`API key: the admin key in ${path} (the CLI and SDK here use it).`, elsewhere, ''];
  const forThisServer = !values.api_url || values.api_url.replace(/\/+$/, '') === url;
  if (!values.api_key || forThisServer) {
    await saveConfig(path, { ...values, api_key: key });
    return [
      `API key: created an admin key and saved it in ${path} (mode 0600); the CLI and SDK here use it.`,
      elsewhere,
      '',
    ];
  }
  return [
    `API key: created an admin key (shown once; ${path} is set up for ${values.api_url}, so it was not saved):`,
    `  ${key}`,
    '  export AGENTTIER_API_KEY=<that key>',
    '',
  ];
}

export const upHandlers: HandlersOf<typeof upCommand> = { '': up };
