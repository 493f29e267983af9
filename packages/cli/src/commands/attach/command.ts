import type { CommandSpec } from '../../spec.ts';

export const attachCommand = {
  name: 'attach',
  description: 'Replay an invoke’s output and follow it until it ends; exits with its exit code',
  arguments: [
    { name: 'name', description: 'agent-mode sandbox name', required: true },
    { name: 'invokeId', description: 'invoke id (see `agenttier invokes NAME`)', required: true },
  ],
  options: [{ flags: '--after <eventId>', description: 'replay only the events after this event id' }],
  examples: [
    {
      description: 'Follow a detached run',
      command: 'agenttier attach demo-agent inv-0123456789abcdef01234567',
    },
    {
      description: 'Events as JSON lines',
      command: 'agenttier attach demo-agent inv-0123456789abcdef01234567 -o json',
    },
  ],
} as const satisfies CommandSpec;
