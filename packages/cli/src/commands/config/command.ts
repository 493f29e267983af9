import type { CommandSpec } from '../../spec.ts';

export const configCommand = {
  name: 'config',
  description: 'Show or change saved settings (~/.config/agenttier/config.json, or AGENTTIER_CONFIG)',
  examples: [
    {
      description: 'Point the CLI at a server',
      command: 'agenttier config set api-url http://10.0.0.5:8080',
    },
    {
      description: 'Save an API key (the file is written with mode 0600)',
      command: 'agenttier config set api-key atk_…',
    },
    { description: 'Show the saved settings (secrets masked)', command: 'agenttier config view' },
  ],
  subcommands: [
    {
      name: 'view',
      description: 'Show the saved settings and where each effective value comes from',
      examples: [{ description: 'Show settings', command: 'agenttier config view' }],
    },
    {
      name: 'set',
      description: 'Save a setting: api-url, api-key, token, output or namespace',
      arguments: [
        { name: 'key', description: 'api-url | api-key | token | output | namespace', required: true },
        { name: 'value', description: 'the value to save', required: true },
      ],
      examples: [{ description: 'Default to JSON output', command: 'agenttier config set output json' }],
    },
    {
      name: 'unset',
      description: 'Remove a saved setting',
      arguments: [
        { name: 'key', description: 'api-url | api-key | token | output | namespace', required: true },
      ],
      examples: [{ description: 'Forget the saved token', command: 'agenttier config unset token' }],
    },
    {
      name: 'path',
      description: 'Print the config file path',
      examples: [{ description: 'Edit the file', command: '$EDITOR "$(agenttier config path)"' }],
    },
  ],
} as const satisfies CommandSpec;
