import type { CommandSpec } from '../../spec.ts';

export const configureCommand = {
  name: 'configure',
  description: 'Configure an agent sandbox: upload files, run the install once, set the entrypoint',
  arguments: [{ name: 'name', description: 'agent-mode sandbox name', required: true }],
  options: [
    {
      flags: '-f, --file <remote=local>',
      description: 'upload a local file to an absolute sandbox path (repeatable)',
      repeatable: true,
    },
    {
      flags: '--install <command>',
      description: 'install command, split like a shell does (no shell runs it)',
    },
    { flags: '--entrypoint <command>', description: 'the command each invoke runs, split like a shell does' },
    { flags: '--install-timeout <duration>', description: 'time limit for the install (server default 15m)' },
    { flags: '--max-concurrent-invokes <n>', description: 'invokes allowed at once (0 = unlimited)' },
    {
      flags: '--default-invoke-timeout <duration>',
      description: 'time limit of each invoke (server default 30m)',
    },
  ],
  examples: [
    {
      description: 'Upload an agent, install its dependencies and set the entrypoint',
      command:
        'agenttier configure demo-agent --file /workspace/agent.py=./agent.py --file /workspace/requirements.txt=./requirements.txt --install "pip install -r /workspace/requirements.txt" --entrypoint "python3 /workspace/agent.py"',
    },
    {
      description: 'Change only the entrypoint (nothing is reinstalled)',
      command: 'agenttier configure demo-agent --entrypoint "python3 /workspace/agent.py --verbose"',
    },
    {
      description: 'The result as JSON (log lines go to stderr)',
      command: 'agenttier configure demo-agent --file /workspace/agent.py=./agent.py -o json',
    },
  ],
} as const satisfies CommandSpec;
