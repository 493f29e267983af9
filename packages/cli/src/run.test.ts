import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sendJson, startTestServer } from '@agenttier/sdk/testing';
import { describe, expect, it } from 'vitest';
import { commands } from './commands/index.ts';
import type { CommandSpec } from './spec.ts';
import { runCli } from './testing/run-cli.ts';
import { CLI_VERSION } from './version.ts';

function leaves(spec: CommandSpec, parents: string[] = []): { path: string[]; spec: CommandSpec }[] {
  const path = [...parents, spec.name];
  if (!spec.subcommands?.length) return [{ path, spec }];
  return spec.subcommands.flatMap((s) => leaves(s, path));
}

describe('agenttier', () => {
  it('prints help with examples for every command and exits 0', async () => {
    const root = await runCli(['--help']);
    expect(root.code).toBe(0);
    expect(root.stdout).toContain('Exit codes: 0 ok');
    for (const entry of commands) {
      for (const leaf of leaves(entry.spec)) {
        const r = await runCli([...leaf.path, '--help']);
        expect(r.code, leaf.path.join(' ')).toBe(0);
        expect(r.stdout, leaf.path.join(' ')).toContain('Examples:\n');
        expect(leaf.spec.examples?.length, leaf.path.join(' ')).toBeGreaterThan(0);
      }
    }
  });

  it('exits 2 on usage errors, with a pointer to --help', async () => {
    const unknown = await runCli(['sandbox', 'launch']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("Error: unknown command 'launch'");
    expect(unknown.stderr).toContain('Hint: Run `agenttier sandbox --help` for usage');
    expect((await runCli(['sandbox', 'get'])).code).toBe(2);
    expect((await runCli(['-o', 'xml', 'version'])).code).toBe(2);
    expect((await runCli(['sandbox'])).code).toBe(2);
  });

  it('exits 6 with a hint when the server is unreachable', async () => {
    const server = await startTestServer();
    const url = server.url;
    await server.close();
    const r = await runCli(['sandbox', 'list'], { url });
    expect(r.code).toBe(6);
    expect(r.stderr).toContain(`Error: cannot reach the AgentTier API at ${url} (ECONNREFUSED)`);
    expect(r.stderr).toContain('Hint: Start the platform with `agenttier up`');
  });

  it('maps auth, rate-limit and server failures to exit 1 with hints', async () => {
    const server = await startTestServer({
      'GET /api/v1/sandboxes': (req, res) => {
        if (!req.headers['x-api-key'])
          return sendJson(res, 401, { error: 'missing authentication', code: 'UNAUTHENTICATED' });
        if (req.headers['x-api-key'] === 'slow') {
          return sendJson(
            res,
            429,
            { error: 'rate_limited', message: 'too many requests' },
            { 'Retry-After': '3' },
          );
        }
        sendJson(res, 500, { error: 'internal error', code: 'INTERNAL', requestId: 'abcd' });
      },
    });
    try {
      const auth = await runCli(['sandbox', 'list'], { url: server.url });
      expect(auth.code).toBe(1);
      expect(auth.stderr).toContain('Hint: Pass --api-key');
      const limited = await runCli(['sandbox', 'list', '--api-key', 'slow'], { url: server.url });
      expect(limited.stderr).toContain('Error: too many requests\nHint: Retry in 3s');
      const broken = await runCli(['sandbox', 'list', '--api-key', 'k'], { url: server.url });
      expect(broken.code).toBe(1);
      expect(broken.stderr).toContain('request id abcd');
    } finally {
      await server.close();
    }
  });

  it('exits 130 when interrupted during a wait', async () => {
    const ac = new AbortController();
    const server = await startTestServer({
      'POST /api/v1/sandboxes/a/resume': (_req, res) => sendJson(res, 200, { status: 'resuming' }),
      // The first poll of the wait is Ctrl-C's moment.
      'GET /api/v1/sandboxes/a': (_req, res) => {
        sendJson(res, 200, { name: 'a', status: 'Stopped' });
        ac.abort();
      },
    });
    const r = await runCli(['sandbox', 'resume', 'a'], { url: server.url, signal: ac.signal });
    await server.close();
    expect(r.code).toBe(130);
    expect(r.stderr).toContain('Error: interrupted');
  });

  it('prints versions that match package.json', async () => {
    const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(CLI_VERSION).toBe(pkg.version);
    const r = await runCli(['version', '-o', 'json']);
    expect(JSON.parse(r.stdout)).toMatchObject({ cli: pkg.version, sdk: '0.1.0' });
    expect((await runCli(['--version'])).stdout).toBe(`${pkg.version}\n`);
  });
});

describe('agenttier up', () => {
  it('starts the platform, prints next steps and closes cleanly on the signal', async () => {
    const calls: unknown[] = [];
    let closed = false;
    const ac = new AbortController();
    const pending = runCli(['up', '--port', '0', '--data-dir', '/tmp/at-data'], {
      signal: ac.signal,
      loadPlatform: async () => ({
        async startLocalPlatform(opts) {
          calls.push(opts);
          const server = createServer((_req, res) => res.end('ok'));
          await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
          const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
          setTimeout(() => ac.abort(), 50);
          return {
            url,
            close: async () => {
              closed = true;
              await new Promise<void>((r) => server.close(() => r()));
            },
          };
        },
      }),
    });
    const r = await pending;
    expect(r.code).toBe(0);
    expect(calls).toEqual([{ host: '127.0.0.1', port: 0, dataDir: '/tmp/at-data' }]);
    expect(closed).toBe(true);
    expect(r.stderr).toMatch(/AgentTier is running at http:\/\/127\.0\.0\.1:\d+/);
    expect(r.stderr).toContain('export AGENTTIER_API_URL=http://127.0.0.1:');
    expect(r.stderr).toContain('agenttier sandbox create demo --template general-coding --wait');
    expect(r.stderr).toContain('Shutting down');
  });

  it('passes --oidc-* flags over AGENTTIER_OIDC_* from the environment to the platform', async () => {
    const calls: Array<{ oidcEnv?: Record<string, string | undefined> }> = [];
    const r = await runCli(
      [
        'up',
        '--port',
        '0',
        '--oidc-issuer',
        'https://login.example.com',
        '--oidc-client-id',
        'web',
        '--oidc-admin-group',
        'ops',
      ],
      {
        env: { AGENTTIER_OIDC_ISSUER: 'https://ignored.example.com', AGENTTIER_OIDC_SCOPES: 'openid,groups' },
        loadPlatform: async () => ({
          async startLocalPlatform(opts) {
            calls.push(opts);
            throw new Error('stop here');
          },
        }),
      },
    );
    expect(r.code).not.toBe(0);
    expect(calls[0]?.oidcEnv).toEqual({
      AGENTTIER_OIDC_ISSUER: 'https://login.example.com',
      AGENTTIER_OIDC_SCOPES: 'openid,groups',
      AGENTTIER_OIDC_CLIENT_ID: 'web',
      AGENTTIER_OIDC_ADMIN_GROUP: 'ops',
    });
  });

  it('explains a busy port and other start failures', async () => {
    const busy = await runCli(['up'], {
      loadPlatform: async () => ({
        startLocalPlatform: async () => {
          throw Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8080'), {
            code: 'EADDRINUSE',
          });
        },
      }),
    });
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('Error: port 8080 on 127.0.0.1 is already in use');
    expect(busy.stderr).toContain('--port');
    const docker = await runCli(['up'], {
      loadPlatform: async () => ({
        startLocalPlatform: async () => {
          throw new Error('cannot reach the Docker engine (/var/run/docker.sock)');
        },
      }),
    });
    expect(docker.code).toBe(1);
    expect(docker.stderr).toBe(
      'Error: could not start the platform: cannot reach the Docker engine (/var/run/docker.sock)\n',
    );
  });
});
