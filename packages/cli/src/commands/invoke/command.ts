import type { CommandSpec } from '../../spec.ts';

export const invokeCommand = {
  name: 'invoke',
  description: "Run an agent sandbox's entrypoint and stream its output; exits with its exit code",
  arguments: [{ name: 'name', description: 'agent-mode sandbox name', required: true }],
  options: [
    {
      flags: '-p, --prompt <text>',
      description: 'passed as --prompt=<text> (and as stdin when there is no input)',
    },
    {
      flags: '-i, --input <input>',
      description: 'stdin for the entrypoint: text, @FILE, or - for this stdin',
    },
    { flags: '--timeout <duration>', description: "lower the sandbox's time limit for this run, e.g. 5m" },
    { flags: '-d, --detach', description: 'start it, print the invoke id and return (follow with `attach`)' },
    { flags: '--cancel <invokeId>', description: 'cancel a running invoke instead' },
  ],
  examples: [
    { description: 'Run with a prompt', command: 'agenttier invoke demo-agent --prompt "summarize this PR"' },
    { description: 'Send a file as input', command: 'agenttier invoke demo-agent --input @request.json' },
    { description: 'Pipe input in', command: 'echo "count 3" | agenttier invoke demo-agent --input -' },
    {
      description: 'Run in the background',
      command: 'agenttier invoke demo-agent --input "sleep 60" --detach',
    },
    {
      description: 'Cancel it',
      command: 'agenttier invoke demo-agent --cancel inv-0123456789abcdef01234567',
    },
  ],
} as const satisfies CommandSpec;
