import type { CommandSpec } from '../../spec.ts';

export const whoamiCommand = {
  name: 'whoami',
  description: 'Show who the server takes you to be (the user of your API key)',
  examples: [
    { description: 'Your user id, groups and whether you are an admin', command: 'agenttier whoami' },
  ],
} as const satisfies CommandSpec;

export const apikeyCommand = {
  name: 'apikey',
  description: 'Create, list and revoke API keys',
  examples: [
    {
      description: 'A key for CI that expires in 30 days',
      command: 'agenttier apikey create ci --expires-in-days 30',
    },
    { description: 'Your keys', command: 'agenttier apikey list' },
    { description: 'Revoke one at once', command: 'agenttier apikey revoke key_0123456789abcdef' },
  ],
  subcommands: [
    {
      name: 'create',
      description: 'Create a key acting as you; it is printed once (only its hash is kept)',
      arguments: [{ name: 'name', description: 'a label for the key (1-64 characters)', required: true }],
      options: [
        {
          flags: '--expires-in-days <days>',
          description: 'days until it stops working (1-3650); default never',
        },
        {
          flags: '--sandbox <name>',
          description: 'limit the key to this one sandbox (with --verbs); it can do nothing else',
        },
        {
          flags: '--verbs <list>',
          description:
            'what the sandbox-scoped key may do, comma-separated: read, logs, files-read, files, exec, invoke, terminal, ports, lifecycle',
        },
      ],
      examples: [
        { description: 'A key acting as you', command: 'agenttier apikey create my-laptop' },
        {
          description: 'A key for an agent: commands and files in one sandbox only',
          command: 'agenttier apikey create my-agent --sandbox demo --verbs exec,files',
        },
      ],
    },
    {
      name: 'list',
      description: 'List your keys (never the keys themselves)',
      options: [{ flags: '--all', description: "every user's keys (admins only)" }],
      examples: [{ description: 'Every key', command: 'agenttier apikey list --all' }],
    },
    {
      name: 'revoke',
      description: 'Revoke a key by its id (key_…); it stops working at once',
      arguments: [{ name: 'id', description: 'the key id from `agenttier apikey list`', required: true }],
      examples: [{ description: 'Revoke', command: 'agenttier apikey revoke key_0123456789abcdef' }],
    },
  ],
} as const satisfies CommandSpec;
