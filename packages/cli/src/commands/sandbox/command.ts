import type { CommandSpec, OptionSpec } from '../../spec.ts';

const waitTimeout: OptionSpec = {
  flags: '--wait-timeout <duration>',
  description: 'how long to wait before giving up (e.g. 90s, 5m)',
  default: '5m',
};

export const sandboxCommand = {
  name: 'sandbox',
  aliases: ['sandboxes', 'sb'],
  description: 'Create, inspect, control and use sandboxes',
  examples: [
    {
      description: 'Create a sandbox and wait until it runs',
      command: 'agenttier sandbox create demo --template general-coding --wait',
    },
    { description: 'Run a command in it', command: 'agenttier sandbox exec demo -- python3 --version' },
    { description: 'Delete it', command: 'agenttier sandbox delete demo' },
  ],
  subcommands: [
    {
      name: 'create',
      description: 'Create a sandbox from a template',
      arguments: [
        { name: 'name', description: 'sandbox name (lowercase letters, digits, "-")', required: true },
      ],
      options: [
        {
          flags: '-t, --template <name>',
          description: 'template to start from (see `agenttier template list`)',
          required: true,
        },
        {
          flags: '--mode <mode>',
          description: 'code (interactive) or agent (configure/invoke)',
          choices: ['code', 'agent'],
        },
        { flags: '--timeout <duration>', description: 'maximum lifetime, e.g. 8h' },
        {
          flags: '--idle-timeout <duration>',
          description: 'stop after this long without activity, e.g. 30m',
        },
        { flags: '--storage-size <size>', description: 'workspace volume size, e.g. 10Gi' },
        {
          flags: '-e, --env <KEY=VALUE>',
          description: 'environment variable (repeatable)',
          repeatable: true,
        },
        { flags: '-l, --label <KEY=VALUE>', description: 'label (repeatable)', repeatable: true },
        {
          flags: '--secret-env <SECRET[=PREFIX]>',
          description: 'one of your secrets as environment variables, PREFIX+KEY each (repeatable)',
          repeatable: true,
        },
        {
          flags: '--secret-file <SECRET=DIR>',
          description: 'one of your secrets as read-only files DIR/KEY (repeatable)',
          repeatable: true,
        },
        { flags: '-w, --wait', description: 'wait until the sandbox is Running' },
        waitTimeout,
      ],
      examples: [
        {
          description: 'Create and wait',
          command: 'agenttier sandbox create demo --template general-coding --wait',
        },
        {
          description: 'With limits and environment',
          command:
            'agenttier sandbox create ci-1 -t general-coding --idle-timeout 30m --storage-size 5Gi -e DEBUG=1',
        },
        {
          description: 'Print the created object as JSON',
          command: 'agenttier sandbox create demo -t general-coding -o json',
        },
        {
          description: 'With your secrets (see `agenttier secret create`)',
          command:
            'agenttier sandbox create demo -t general-coding --secret-env github=GH_ --secret-file ssh=/credentials/ssh',
        },
      ],
    },
    {
      name: 'list',
      aliases: ['ls'],
      description: 'List sandboxes',
      options: [
        {
          flags: '--status <phase>',
          description: 'only this phase (Creating, Running, Stopped, Error, Deleting)',
        },
      ],
      examples: [
        { description: 'All sandboxes you can see', command: 'agenttier sandbox list' },
        {
          description: 'Running ones in namespace team-a, as JSON',
          command: 'agenttier sandbox list -n team-a --status Running -o json',
        },
      ],
    },
    {
      name: 'get',
      description: 'Show one sandbox',
      arguments: [{ name: 'name', description: 'sandbox name', required: true }],
      examples: [
        {
          description: 'Details, including the reason for an Error phase',
          command: 'agenttier sandbox get demo',
        },
        { description: 'The full object as YAML', command: 'agenttier sandbox get demo -o yaml' },
      ],
    },
    {
      name: 'share',
      description:
        'Share a sandbox with another user: viewer (status, logs, reading files) or operator (also exec, files, terminal, invoke, ports, stop/resume; never delete or share)',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        { name: 'user', description: 'user id to share with', required: true },
      ],
      options: [
        {
          flags: '--role <role>',
          description: 'what the user may do',
          choices: ['viewer', 'operator'],
          required: true,
        },
      ],
      examples: [
        { description: 'Let bob work in it', command: 'agenttier sandbox share demo bob --role operator' },
      ],
    },
    {
      name: 'unshare',
      description: 'Stop sharing a sandbox with a user (their next request is refused)',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        { name: 'user', description: 'user id', required: true },
      ],
      examples: [{ description: 'Revoke bob', command: 'agenttier sandbox unshare demo bob' }],
    },
    {
      name: 'shares',
      description: 'List who a sandbox is shared with',
      arguments: [{ name: 'name', description: 'sandbox name', required: true }],
      examples: [{ description: 'Who else has access', command: 'agenttier sandbox shares demo' }],
    },
    {
      name: 'top',
      description:
        'CPU, memory, processes and disk of running sandboxes, measured now (all running ones without names)',
      arguments: [{ name: 'names', description: 'sandbox names', variadic: true }],
      examples: [
        { description: 'Every running sandbox', command: 'agenttier sandbox top' },
        { description: 'One, as JSON', command: 'agenttier sandbox top demo -o json' },
      ],
    },
    {
      name: 'events',
      description: 'What happened to a sandbox (phase changes, back-offs, …), oldest first, like kubectl',
      arguments: [{ name: 'name', description: 'sandbox name', required: true }],
      examples: [{ description: 'Why did it stop?', command: 'agenttier sandbox events demo' }],
    },
    {
      name: 'stop',
      description: 'Stop sandboxes (the workspace is kept); waits until Stopped unless --no-wait',
      arguments: [{ name: 'names', description: 'sandbox names', required: true, variadic: true }],
      options: [
        { flags: '-w, --wait', description: 'wait until Stopped (default)', default: true },
        { flags: '--no-wait', description: 'return as soon as the stop is accepted' },
        waitTimeout,
      ],
      examples: [
        { description: 'Stop and wait', command: 'agenttier sandbox stop demo' },
        { description: 'Stop several without waiting', command: 'agenttier sandbox stop a b c --no-wait' },
      ],
    },
    {
      name: 'resume',
      aliases: ['start'],
      description: 'Start stopped sandboxes again; waits until Running unless --no-wait',
      arguments: [{ name: 'names', description: 'sandbox names', required: true, variadic: true }],
      options: [
        { flags: '-w, --wait', description: 'wait until Running (default)', default: true },
        { flags: '--no-wait', description: 'return as soon as the resume is accepted' },
        waitTimeout,
      ],
      examples: [{ description: 'Resume and wait', command: 'agenttier sandbox resume demo' }],
    },
    {
      name: 'delete',
      aliases: ['rm'],
      description: 'Delete sandboxes and their workspaces',
      arguments: [{ name: 'names', description: 'sandbox names', required: true, variadic: true }],
      options: [{ flags: '-w, --wait', description: 'wait until they are gone' }, waitTimeout],
      examples: [
        { description: 'Delete one', command: 'agenttier sandbox delete demo' },
        {
          description: 'Delete several and wait until they are gone',
          command: 'agenttier sandbox delete a b --wait',
        },
      ],
    },
    {
      name: 'exec',
      description: 'Run a command in a sandbox; exits with the command’s exit code',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        {
          name: 'command',
          description: 'the command and its arguments, after --',
          required: true,
          variadic: true,
        },
      ],
      options: [
        { flags: '-s, --shell', description: 'run the words as one /bin/sh -c string (pipes, globs, $VARS)' },
        { flags: '--timeout <seconds>', description: 'server-side time limit for the command' },
        {
          flags: '-e, --env <KEY=VALUE>',
          description: 'environment variable (repeatable)',
          repeatable: true,
        },
        { flags: '-C, --cwd <dir>', description: 'working directory inside the sandbox' },
        { flags: '-i, --stdin', description: 'send this process’s stdin to the command' },
        {
          flags: '--stream',
          description: 'print output as it arrives (with -o json: one JSON event per line)',
        },
        {
          flags: '-d, --detach',
          description:
            'start it in the background and print its process id (see `sandbox ps`, `logs`, `kill`)',
        },
        { flags: '--name <label>', description: 'with --detach: a label shown by `sandbox ps`' },
      ],
      examples: [
        {
          description: 'Run a program (argv, no shell)',
          command: 'agenttier sandbox exec demo -- ls -la /workspace',
        },
        {
          description: 'Use shell features',
          command: "agenttier sandbox exec demo --shell -- 'ps aux | grep node'",
        },
        { description: 'Pipe data in', command: 'cat data.csv | agenttier sandbox exec demo -i -- wc -l' },
        {
          description: 'Get stdout, stderr and the exit code as JSON',
          command: 'agenttier sandbox exec demo -o json -- make test',
        },
        {
          description: 'Watch a long build as it runs',
          command: 'agenttier sandbox exec demo --stream -- make -j8',
        },
        {
          description: 'Start a web server in the background',
          command: 'agenttier sandbox exec demo -d --name web -- python3 -m http.server 8000',
        },
      ],
    },
    {
      name: 'terminal',
      aliases: ['term', 'shell'],
      description: 'Open an interactive shell in a sandbox (the session survives disconnects)',
      arguments: [{ name: 'name', description: 'sandbox name', required: true }],
      options: [
        {
          flags: '--session <name>',
          description: 'session to attach to; created when new, re-attached (with recent output) when not',
          default: 'main',
        },
        {
          flags: '--shell <path>',
          description: 'shell for a new session (servers that support choosing one)',
        },
        {
          flags: '--detach-keys <keys>',
          description: 'key sequence that detaches and leaves the shell running ("none" to disable)',
          default: 'ctrl-],d',
        },
        { flags: '--no-reconnect', description: 'give up when the connection drops instead of re-attaching' },
      ],
      examples: [
        { description: 'A shell in the default session', command: 'agenttier sandbox terminal demo' },
        {
          description: 'A separate, named session; detach with Ctrl-] d and come back later',
          command: 'agenttier sandbox terminal demo --session build',
        },
        {
          description: 'Feed commands from a pipe (the shell exits at the end of input)',
          command:
            "printf 'cd /workspace && ls\\nexit\\n' | agenttier sandbox terminal demo --session scripted",
        },
      ],
    },
    {
      name: 'port-forward',
      aliases: ['pf'],
      description: 'Forward a local port to a port inside a sandbox',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        {
          name: 'ports',
          description: 'LOCAL:REMOTE, or PORT for the same number on both sides (LOCAL 0 picks a free port)',
          required: true,
        },
      ],
      options: [
        { flags: '--address <address>', description: 'local address to listen on', default: '127.0.0.1' },
        {
          flags: '--mode <mode>',
          description:
            'tcp: raw bytes over /ws/tcp (any protocol); http: a reverse proxy through the preview URL (HTTP and WebSocket); auto: tcp when the server has it',
          choices: ['auto', 'tcp', 'http'],
          default: 'auto',
        },
      ],
      examples: [
        {
          description: 'Open a dev server on http://127.0.0.1:8000',
          command: 'agenttier sandbox port-forward demo 8000',
        },
        {
          description: 'A database on another local port',
          command: 'agenttier sandbox port-forward demo 15432:5432',
        },
        {
          description: 'Listen on all interfaces, HTTP only',
          command: 'agenttier sandbox port-forward demo 3000:3000 --address 0.0.0.0 --mode http',
        },
      ],
    },
    {
      name: 'ports',
      aliases: ['port'],
      description: 'Manage the ports a sandbox exposes through the preview proxy',
      subcommands: [
        {
          name: 'list',
          aliases: ['ls'],
          description: 'List forwarded ports with their preview URLs',
          arguments: [{ name: 'name', description: 'sandbox name', required: true }],
          examples: [{ description: 'Ports of demo', command: 'agenttier sandbox ports list demo' }],
        },
        {
          name: 'forward',
          aliases: ['add'],
          description: 'Expose a port through the preview proxy and print its URL',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'port', description: 'port inside the sandbox (1-65535)', required: true },
          ],
          options: [
            {
              flags: '--protocol <protocol>',
              description: 'http or tcp',
              choices: ['http', 'tcp'],
              default: 'http',
            },
          ],
          examples: [
            { description: 'Expose a web server', command: 'agenttier sandbox ports forward demo 8000' },
            {
              description: 'Just the preview URL',
              command: 'agenttier sandbox ports forward demo 8000 -o json | jq -r .previewUrl',
            },
          ],
        },
        {
          name: 'remove',
          aliases: ['rm'],
          description: 'Stop exposing a port',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'port', description: 'port inside the sandbox', required: true },
          ],
          examples: [
            { description: 'Stop exposing 8000', command: 'agenttier sandbox ports remove demo 8000' },
          ],
        },
        {
          name: 'preview',
          aliases: ['open'],
          description:
            'Print a single-use link (valid 60 s) that opens a forwarded port in a browser; the browser then holds a session for that port only',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'port', description: 'forwarded port inside the sandbox', required: true },
          ],
          options: [
            { flags: '--path <path>', description: 'where to land on the preview (default /)' },
            { flags: '--open', description: 'also open it in the default browser' },
          ],
          examples: [
            {
              description: 'A link to the web server on 3000',
              command: 'agenttier sandbox port preview demo 3000',
            },
            {
              description: 'Open /app in the browser',
              command: 'agenttier sandbox port preview demo 3000 --path /app --open',
            },
          ],
        },
      ],
    },
    {
      name: 'ps',
      description: 'List processes in a sandbox (background ones, running execs, recently finished)',
      arguments: [{ name: 'name', description: 'sandbox name', required: true }],
      examples: [
        { description: 'What runs in demo', command: 'agenttier sandbox ps demo' },
        { description: 'As JSON', command: 'agenttier sandbox ps demo -o json' },
      ],
    },
    {
      name: 'logs',
      description: 'Print the output of a process (the last 1 MiB is kept); -f follows it until it exits',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        { name: 'process', description: 'process id (see `sandbox ps`)', required: true },
      ],
      options: [
        { flags: '-f, --follow', description: 'keep printing new output until the process exits' },
        { flags: '--from-offset <bytes>', description: 'start at this byte offset of the combined output' },
      ],
      examples: [
        {
          description: 'What a background process printed so far',
          command: 'agenttier sandbox logs demo p-1a2b',
        },
        { description: 'Follow it', command: 'agenttier sandbox logs demo p-1a2b -f' },
      ],
    },
    {
      name: 'kill',
      description: 'Kill a process (SIGKILL to its group), or send it a signal with --signal',
      arguments: [
        { name: 'name', description: 'sandbox name', required: true },
        { name: 'process', description: 'process id (see `sandbox ps`)', required: true },
      ],
      options: [
        { flags: '-s, --signal <signal>', description: 'signal to send instead, e.g. TERM, INT, HUP' },
      ],
      examples: [
        { description: 'Kill it', command: 'agenttier sandbox kill demo p-1a2b' },
        { description: 'Ask it to stop', command: 'agenttier sandbox kill demo p-1a2b --signal TERM' },
      ],
    },
    {
      name: 'cp',
      description: 'Copy files between this machine and a sandbox (NAME:/path marks the sandbox side)',
      arguments: [
        { name: 'source', description: 'local path or NAME:/path', required: true },
        { name: 'destination', description: 'local path or NAME:/path', required: true },
      ],
      examples: [
        { description: 'Upload a file', command: 'agenttier sandbox cp ./main.py demo:/workspace/main.py' },
        {
          description: 'Upload a directory (recursively)',
          command: 'agenttier sandbox cp ./src demo:/workspace/src',
        },
        { description: 'Download a file', command: 'agenttier sandbox cp demo:/workspace/out.log ./out.log' },
        {
          description: 'Download a directory (fetched as a zip and unpacked)',
          command: 'agenttier sandbox cp demo:/workspace/src ./src',
        },
        {
          description: 'Download a directory as a zip file',
          command: 'agenttier sandbox cp demo:/workspace ./workspace.zip',
        },
      ],
    },
    {
      name: 'files',
      description: 'Browse and change files in a sandbox (ls, cat, stat, mkdir, mv, rm, watch)',
      subcommands: [
        {
          name: 'ls',
          aliases: ['list'],
          description: 'List a directory (default /workspace)',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'directory (relative paths start at /workspace)' },
          ],
          examples: [
            { description: 'List the workspace', command: 'agenttier sandbox files ls demo' },
            {
              description: 'List a subdirectory as JSON',
              command: 'agenttier sandbox files ls demo src -o json',
            },
          ],
        },
        {
          name: 'cat',
          description: 'Print a file to stdout',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'file path', required: true },
          ],
          examples: [
            { description: 'Show a file', command: 'agenttier sandbox files cat demo /workspace/README.md' },
          ],
        },
        {
          name: 'stat',
          description: 'Describe one path (size, type, mode, modification time)',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'file or directory', required: true },
          ],
          examples: [
            { description: 'Is src a directory?', command: 'agenttier sandbox files stat demo src -o json' },
          ],
        },
        {
          name: 'mkdir',
          description: 'Create a directory',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'directory to create', required: true },
          ],
          options: [
            { flags: '-p, --parents', description: 'create missing parents; an existing directory is fine' },
          ],
          examples: [
            {
              description: 'Make a nested directory',
              command: 'agenttier sandbox files mkdir demo out/logs -p',
            },
          ],
        },
        {
          name: 'mv',
          description: 'Rename or move a file or directory inside the sandbox',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'from', description: 'existing path', required: true },
            { name: 'to', description: 'new path', required: true },
          ],
          options: [{ flags: '-f, --force', description: 'replace an existing target' }],
          examples: [
            { description: 'Rename a file', command: 'agenttier sandbox files mv demo draft.md final.md' },
          ],
        },
        {
          name: 'rm',
          description: 'Remove a file, or a directory with --recursive',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'path to remove', required: true },
          ],
          options: [{ flags: '-r, --recursive', description: 'remove a directory and everything in it' }],
          examples: [
            { description: 'Remove a build directory', command: 'agenttier sandbox files rm demo build -r' },
          ],
        },
        {
          name: 'watch',
          description: 'Print changes under a directory as they happen, until Ctrl-C',
          arguments: [
            { name: 'name', description: 'sandbox name', required: true },
            { name: 'path', description: 'directory (default /workspace)' },
          ],
          options: [
            { flags: '--no-recursive', description: 'only the directory itself, not its subdirectories' },
          ],
          examples: [
            { description: 'Follow the workspace', command: 'agenttier sandbox files watch demo' },
            { description: 'As JSON lines', command: 'agenttier sandbox files watch demo src -o json' },
          ],
        },
      ],
    },
  ],
} as const satisfies CommandSpec;
