import type { CommandSpec } from '../../spec.ts';

export const invokesCommand = {
  name: 'invokes',
  description: 'List the invokes of an agent sandbox (newest first), or show one',
  arguments: [
    { name: 'name', description: 'agent-mode sandbox name', required: true },
    { name: 'invokeId', description: 'show this one in detail, with the end of its output' },
  ],
  options: [{ flags: '--limit <n>', description: 'at most this many (1-500)', default: '100' }],
  examples: [
    { description: 'Recent runs', command: 'agenttier invokes demo-agent' },
    {
      description: 'One run, with its output tail',
      command: 'agenttier invokes demo-agent inv-0123456789abcdef01234567',
    },
    { description: 'As JSON', command: 'agenttier invokes demo-agent -o json' },
  ],
} as const satisfies CommandSpec;
