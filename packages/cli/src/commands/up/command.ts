import type { CommandSpec } from '../../spec.ts';

export const upCommand = {
  name: 'up',
  description: 'Run the AgentTier platform (API server and controller) on this machine, in the foreground',
  options: [
    {
      flags: '--host <host>',
      description: 'address to listen on (loopback only until auth is configured)',
      default: '127.0.0.1',
    },
    { flags: '-p, --port <port>', description: 'port to listen on', default: '8080' },
    {
      flags: '--data-dir <dir>',
      description: 'where state and sandbox data live (default ~/.agenttier or AGENTTIER_DATA_DIR)',
    },
    {
      flags: '--docker-host <url>',
      description:
        'container engine endpoint (default AGENTTIER_DOCKER_HOST, DOCKER_HOST, the private engine at /run/agenttier/docker.sock when it runs, else /var/run/docker.sock)',
    },
    {
      flags: '--max-sandboxes <n>',
      description: 'sandboxes that may exist at once, 0 for no cap (default AGENTTIER_MAX_SANDBOXES or 100)',
    },
    {
      flags: '--create-rate <per-second>',
      description:
        'sustained sandbox creates per second per caller, 0 for no limit (default AGENTTIER_CREATE_RATE or 5)',
    },
    {
      flags: '--create-burst <n>',
      description: 'creates a caller may send back to back (default AGENTTIER_CREATE_BURST or 30)',
    },
    {
      flags: '--log-level <level>',
      description: 'server log level',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    },
  ],
  examples: [
    { description: 'Start on http://127.0.0.1:8080 (Ctrl-C stops it)', command: 'agenttier up' },
    {
      description: 'Another port and data directory',
      command: 'agenttier up --port 9090 --data-dir /tmp/agenttier',
    },
  ],
} as const satisfies CommandSpec;
