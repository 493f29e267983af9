import type { configCommand } from './command.ts';
import type { CliConfig, ConfigKey } from '../../config.ts';
import { CONFIG_KEYS, OUTPUT_FORMATS, SECRET_KEYS, saveConfig } from '../../config.ts';
import { EXIT, UsageError } from '../../errors.ts';
import { renderDetails } from '../../output.ts';
import type { HandlerOf, HandlersOf } from '../../spec.ts';

function toKey(raw: string): ConfigKey {
  const key = raw
    .trim()
    .replace(/-/g, '_')
    .replace(/([a-z])([A-Z])/g, '$1_$2')
    .toLowerCase();
  if (!(CONFIG_KEYS as readonly string[]).includes(key)) {
    throw new UsageError(
      `unknown setting "${raw}"`,
      `Settings: ${CONFIG_KEYS.map((k) => k.replace(/_/g, '-')).join(', ')}`,
    );
  }
  return key as ConfigKey;
}

function mask(value: string): string {
  return value.length <= 8 ? '****' : `${value.slice(0, 4)}…${value.slice(-2)}`;
}

function masked(values: CliConfig): CliConfig {
  const out: CliConfig = { ...values };
  for (const k of SECRET_KEYS) if (out[k]) out[k] = mask(out[k]);
  return out;
}

const view: HandlerOf<typeof configCommand, 'view'> = async (client) => {
  const { settings, config } = client;
  const data = {
    path: config.path,
    saved: masked(config.values),
    effective: {
      apiUrl: settings.apiUrl,
      credentials: settings.apiKey ? 'api key' : settings.token ? 'token' : 'none',
      credentialSource: settings.credentialSource,
      output: settings.output,
      namespace: settings.namespace ?? '',
    },
  };
  client.print(data, () => {
    const saved = masked(config.values);
    return (
      `Config file: ${config.path}\n\nSaved:\n` +
      (CONFIG_KEYS.some((k) => saved[k])
        ? CONFIG_KEYS.filter((k) => saved[k])
            .map((k) => `  ${k.replace(/_/g, '-')} = ${saved[k]}`)
            .join('\n') + '\n'
        : '  (nothing)\n') +
      '\nEffective:\n' +
      renderDetails([
        ['  API URL', settings.apiUrl],
        ['  Credentials', `${data.effective.credentials} (from ${settings.credentialSource})`],
        ['  Output', settings.output],
        ['  Namespace', settings.namespace ?? '(all)'],
      ])
    );
  });
  return EXIT.OK;
};

const set: HandlerOf<typeof configCommand, 'set'> = async (client, { args }) => {
  const key = toKey(args[0]);
  const value = args[1].trim();
  if (key === 'api_url' && !/^https?:\/\/[^\s]+$/.test(value)) {
    throw new UsageError(
      `api-url must be an http(s) URL, got "${value}"`,
      'For example: http://127.0.0.1:8080',
    );
  }
  if (key === 'output' && !(OUTPUT_FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`output must be one of ${OUTPUT_FORMATS.join(', ')}`);
  }
  await saveConfig(client.config.path, { ...client.config.values, [key]: value });
  client.log(`Saved ${key.replace(/_/g, '-')} in ${client.config.path}.`);
  return EXIT.OK;
};

const unset: HandlerOf<typeof configCommand, 'unset'> = async (client, { args }) => {
  const key = toKey(args[0]);
  const values = { ...client.config.values };
  delete values[key];
  await saveConfig(client.config.path, values);
  client.log(`Removed ${key.replace(/_/g, '-')} from ${client.config.path}.`);
  return EXIT.OK;
};

const path: HandlerOf<typeof configCommand, 'path'> = async (client) => {
  client.stdout.write(`${client.config.path}\n`);
  return EXIT.OK;
};

export const configHandlers: HandlersOf<typeof configCommand> = { view, set, unset, path };
