import { chmod, mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { DEFAULT_API_URL } from '@agenttier/sdk';
import { CliError, EXIT } from './errors.ts';

/** The saved config file: the keys of the seed product's CLIs plus output and namespace defaults. */
export interface CliConfig {
  api_url?: string;
  api_key?: string;
  token?: string;
  output?: string;
  namespace?: string;
  /** `agenttier login --oidc`: renews `token` when it expires; revoked by `logout`. */
  refresh_token?: string;
  /** RFC 3339: when `token` expires (from the provider's `expires_in`). */
  token_expires_at?: string;
  /** The provider and client `token` came from (for refreshing and revoking). */
  oidc_issuer?: string;
  oidc_client_id?: string;
}

export const CONFIG_KEYS = [
  'api_url',
  'api_key',
  'token',
  'output',
  'namespace',
  'refresh_token',
  'token_expires_at',
  'oidc_issuer',
  'oidc_client_id',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];
export const SECRET_KEYS: readonly ConfigKey[] = ['api_key', 'token', 'refresh_token'];
/** Everything a login stores; a new login or `logout` replaces or removes all of it. */
export const CREDENTIAL_KEYS: readonly ConfigKey[] = [
  'api_key',
  'token',
  'refresh_token',
  'token_expires_at',
  'oidc_issuer',
  'oidc_client_id',
];

/** `AGENTTIER_CONFIG`, else `~/.config/agenttier/config.json`. */
export function configPath(env: Record<string, string | undefined>, homeDir: string): string {
  return env.AGENTTIER_CONFIG || join(homeDir, '.config', 'agenttier', 'config.json');
}

export interface LoadedConfig {
  path: string;
  values: CliConfig;
  /** A problem worth a warning (e.g. a secret in a world-readable file). */
  warning?: string;
}

export async function loadConfig(path: string): Promise<LoadedConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') return { path, values: {} };
    throw err;
  }
  let parsed: unknown;
  try {
    parsed = text.trim() === '' ? {} : JSON.parse(text);
  } catch (err) {
    throw new CliError(
      `config file ${path} is not valid JSON: ${(err as Error).message}`,
      EXIT.ERROR,
      `Fix or delete it, or point AGENTTIER_CONFIG elsewhere`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new CliError(`config file ${path} must hold a JSON object`, EXIT.ERROR, 'Fix or delete it');
  }
  const values: CliConfig = {};
  for (const key of CONFIG_KEYS) {
    const v = (parsed as Record<string, unknown>)[key];
    if (typeof v === 'string' && v !== '') values[key] = v;
  }
  const result: LoadedConfig = { path, values };
  if (process.platform !== 'win32' && SECRET_KEYS.some((k) => values[k])) {
    const mode = (await stat(path)).mode & 0o777;
    if (mode & 0o077) {
      result.warning = `config file ${path} holds credentials but is readable by others (mode ${mode.toString(8)}); run \`chmod 600 ${path}\``;
    }
  }
  return result;
}

/** Writes the config atomically with mode 0600 (directory 0700). */
export async function saveConfig(path: string, values: CliConfig): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(values, null, 2)}\n`, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, path);
}

export interface GlobalFlags {
  apiUrl?: string;
  apiKey?: string;
  token?: string;
  output?: string;
  namespace?: string;
  color?: boolean;
}

export type OutputFormat = 'table' | 'json' | 'yaml';
export const OUTPUT_FORMATS: readonly OutputFormat[] = ['table', 'json', 'yaml'];

export interface Settings {
  apiUrl: string;
  apiKey?: string;
  token?: string;
  output: OutputFormat;
  namespace?: string;
  /** Where the credentials came from: `flag`, `env`, `config` or `none`. */
  credentialSource: 'flag' | 'env' | 'config' | 'none';
}

/**
 * Flag, then environment, then config file, then default. Credentials are taken as a pair from
 * the highest source that has any, so `--token` is not shadowed by an API key in the environment.
 */
export function resolveSettings(
  flags: GlobalFlags,
  env: Record<string, string | undefined>,
  config: CliConfig,
): Settings {
  const pick = (...values: (string | undefined)[]) => values.find((v) => v !== undefined && v !== '');
  const apiUrl = pick(flags.apiUrl, env.AGENTTIER_API_URL, config.api_url) ?? DEFAULT_API_URL;
  const sources = [
    { source: 'flag' as const, apiKey: flags.apiKey, token: flags.token },
    { source: 'env' as const, apiKey: env.AGENTTIER_API_KEY, token: env.AGENTTIER_TOKEN },
    { source: 'config' as const, apiKey: config.api_key, token: config.token },
  ];
  const creds = sources.find((s) => pick(s.apiKey) || pick(s.token));
  const output = pick(flags.output, config.output) ?? 'table';
  if (!(OUTPUT_FORMATS as readonly string[]).includes(output)) {
    throw new CliError(
      `output format "${output}" is not one of ${OUTPUT_FORMATS.join(', ')}`,
      EXIT.USAGE,
      'Use -o table, -o json or -o yaml (check "output" in the config file)',
    );
  }
  const settings: Settings = {
    apiUrl,
    output: output as OutputFormat,
    credentialSource: creds?.source ?? 'none',
  };
  const apiKey = pick(creds?.apiKey);
  const token = pick(creds?.token);
  const namespace = pick(flags.namespace, env.AGENTTIER_NAMESPACE, config.namespace);
  if (apiKey) settings.apiKey = apiKey;
  if (token) settings.token = token;
  if (namespace) settings.namespace = namespace;
  return settings;
}
