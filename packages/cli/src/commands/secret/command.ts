import type { CommandSpec } from '../../spec.ts';

export const secretCommand = {
  name: 'secret',
  aliases: ['secrets'],
  description: 'Manage your secrets for sandbox credentials (values are write-only)',
  examples: [
    {
      description: 'Store a token, then hand it to a sandbox as GH_TOKEN',
      command:
        'agenttier secret create github --from-literal TOKEN=ghp_… && agenttier sandbox create demo -t general-coding --secret-env github=GH_',
    },
  ],
  subcommands: [
    {
      name: 'create',
      description: 'Create or replace one of your secrets (in -n NAMESPACE); prints its keys, never values',
      arguments: [
        { name: 'name', description: 'secret name (lowercase letters, digits, -)', required: true },
      ],
      options: [
        {
          flags: '--from-literal <KEY=VALUE>',
          description: 'a key and its value (repeatable)',
          repeatable: true,
        },
        {
          flags: '--from-file <[KEY=]PATH>',
          description: 'a key whose value is a file (the file name by default; repeatable)',
          repeatable: true,
        },
      ],
      examples: [
        { description: 'From a value', command: 'agenttier secret create github --from-literal TOKEN=ghp_…' },
        {
          description: 'From files (binary files too)',
          command:
            'agenttier secret create ssh --from-file id_ed25519=$HOME/.ssh/id_ed25519 --from-file known_hosts',
        },
      ],
    },
    {
      name: 'list',
      aliases: ['ls'],
      description: 'List your secrets and their keys (all namespaces unless -n is given)',
      examples: [{ description: 'As JSON', command: 'agenttier secret list -o json' }],
    },
    {
      name: 'delete',
      aliases: ['rm'],
      description: 'Delete your secrets (running sandboxes keep what they were given)',
      arguments: [{ name: 'names', description: 'secret names', required: true, variadic: true }],
      examples: [{ description: 'Delete a secret', command: 'agenttier secret delete github' }],
    },
  ],
} as const satisfies CommandSpec;
