import type { CommandSpec } from '../../spec.ts';

export const upCommand = {
  name: 'up',
  description: 'Run the AgentTier platform (API server and controller) on this machine, in the foreground',
  options: [
    {
      flags: '--host <host>',
      description: 'address to listen on (0.0.0.0 for every interface; with --dev-auth loopback only)',
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
      flags: '--allowed-host <name>',
      description:
        'another Host name (NAME or NAME:PORT) the API answers besides localhost/127.0.0.1/[::1]; repeatable (default AGENTTIER_ALLOWED_HOSTS, comma-separated)',
      repeatable: true,
    },
    {
      flags: '--cors-origin <origin>',
      description:
        'a web origin (https://app.example.com) allowed to call the API from a browser; repeatable (default AGENTTIER_CORS_ORIGINS)',
      repeatable: true,
    },
    {
      flags: '--preview-origin <pattern>',
      description:
        'where previews live, scheme://*.domain[:port] (default http://*.localhost:PORT, or AGENTTIER_PREVIEW_ORIGIN)',
    },
    {
      flags: '--workspace-quota <mode>',
      description:
        'how storage.size is enforced: loop (an ext4 image per workspace; needs root), off, or auto (loop where possible; default AGENTTIER_WORKSPACE_QUOTA or auto)',
      choices: ['auto', 'loop', 'off'],
    },
    {
      flags: '--tls-cert <file>',
      description:
        'PEM certificate: serve HTTPS (API, terminals, previews, web UI) with --tls-key; needed to expose the API beyond this machine safely (default AGENTTIER_TLS_CERT)',
    },
    {
      flags: '--tls-key <file>',
      description: 'PEM private key for --tls-cert (default AGENTTIER_TLS_KEY)',
    },
    {
      flags: '--dev-auth',
      description:
        'development authentication: every local caller without a key is an admin (loopback only; never on a shared machine)',
    },
    {
      flags: '--oidc-issuer <url>',
      description:
        'accept bearer JWTs from this OpenID provider (https; default AGENTTIER_OIDC_ISSUER); see docs/auth.md#oidc for the other AGENTTIER_OIDC_* settings',
    },
    {
      flags: '--oidc-audience <aud>',
      description:
        'the aud the tokens carry (comma-separated; default AGENTTIER_OIDC_AUDIENCE, else the client id)',
    },
    {
      flags: '--oidc-client-id <id>',
      description:
        'client id at the provider for browser login (code + PKCE; secret in AGENTTIER_OIDC_CLIENT_SECRET, never a flag)',
    },
    {
      flags: '--oidc-admin-group <group>',
      description: 'members of this group (claim AGENTTIER_OIDC_GROUPS_CLAIM, default groups) are admins',
    },
    {
      flags: '--log-level <level>',
      description: 'server log level',
      choices: ['trace', 'debug', 'info', 'warn', 'error', 'fatal'],
    },
  ],
  examples: [
    {
      description: 'Behind a reverse proxy that serves it as agenttier.example.com',
      command: 'agenttier up --allowed-host agenttier.example.com',
    },
    { description: 'Start on http://127.0.0.1:8080 (Ctrl-C stops it)', command: 'agenttier up' },
    {
      description: 'Accept tokens and browser logins from an OpenID provider',
      command:
        'agenttier up --oidc-issuer https://login.example.com/realms/dev --oidc-client-id agenttier --oidc-admin-group agenttier-admins',
    },
    {
      description: 'Another port and data directory',
      command: 'agenttier up --port 9090 --data-dir /tmp/agenttier',
    },
  ],
} as const satisfies CommandSpec;
