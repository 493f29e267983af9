import type { CommandSpec } from '../../spec.ts';

export const loginCommand = {
  name: 'login',
  description:
    'Store credentials for the server in the CLI config: an API key (pasted, or --api-key), or an OIDC access token from your provider (--oidc)',
  options: [
    {
      flags: '--oidc',
      description:
        "log in at the server's OpenID provider: the device authorization grant (a code to confirm in a browser on any device) when the provider offers it, else authorization code + PKCE with a redirect to a loopback port of this machine; stores a refresh token too when the provider grants one",
    },
    {
      flags: '--browser',
      description:
        'with --oidc: use the loopback-redirect browser login even when the provider offers the device grant',
    },
    {
      flags: '--issuer <url>',
      description: 'with --oidc: the provider (default: what the server announces at /api/v1/auth/methods)',
    },
    {
      flags: '--client-id <id>',
      description: 'with --oidc: a public client at the provider that allows http://127.0.0.1 redirects',
    },
    {
      flags: '--scopes <list>',
      description: 'with --oidc: scopes, comma-separated (default openid,email,profile)',
    },
  ],
  examples: [
    { description: 'Paste an API key (read from stdin, not echoed)', command: 'agenttier login' },
    {
      description: 'Non-interactively, against another server',
      command: 'agenttier --api-url https://agenttier.example.com login --api-key "$KEY"',
    },
    {
      description: 'Through the OpenID provider (device code, or browser)',
      command: 'agenttier login --oidc',
    },
    {
      description: 'Through the OpenID provider with a browser on this machine',
      command: 'agenttier login --oidc --browser',
    },
  ],
} as const satisfies CommandSpec;

export const logoutCommand = {
  name: 'logout',
  description:
    'Remove the stored API key or tokens from the CLI config; an OIDC refresh token is revoked at the provider first (when it has a revocation endpoint). An API key itself stays valid: revoke it with `agenttier apikey revoke`',
  examples: [{ description: 'Forget the credentials on this machine', command: 'agenttier logout' }],
} as const satisfies CommandSpec;
