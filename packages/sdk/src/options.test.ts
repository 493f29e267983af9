import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AgentTier } from './client.ts';
import { resolveOpts } from './options.ts';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sdk-opts-'));
});
afterEach(() => rm(dir, { recursive: true, force: true }));

describe('credential chain: explicit → AGENTTIER_API_KEY / AGENTTIER_TOKEN → CLI config', () => {
  it('takes the CLI config key last', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ api_key: 'atk_saved' }), { mode: 0o600 });
    expect(resolveOpts({ env: { AGENTTIER_CONFIG: config } }).apiKey).toBe('atk_saved');
    expect(resolveOpts({ env: { AGENTTIER_CONFIG: config, AGENTTIER_API_KEY: 'atk_env' } }).apiKey).toBe(
      'atk_env',
    );
    const explicit = resolveOpts({ apiKey: 'atk_mine', env: { AGENTTIER_CONFIG: config } });
    expect(explicit.apiKey).toBe('atk_mine');
    expect(resolveOpts({ token: 'jwt', env: { AGENTTIER_CONFIG: config } }).apiKey).toBeUndefined();
  });

  it('an explicit env without AGENTTIER_CONFIG reads no file; a missing or broken file is no key', async () => {
    expect(resolveOpts({ env: {} }).apiKey).toBeUndefined();
    expect(resolveOpts({ env: { AGENTTIER_CONFIG: join(dir, 'absent.json') } }).apiKey).toBeUndefined();
    await writeFile(join(dir, 'bad.json'), '{not json');
    expect(resolveOpts({ env: { AGENTTIER_CONFIG: join(dir, 'bad.json') } }).apiKey).toBeUndefined();
  });
});

describe('credential chain, last link: an in-cluster ServiceAccount token file', () => {
  it('is used only when nothing else gave a credential', async () => {
    const file = join(dir, 'token');
    expect(resolveOpts({ env: { AGENTTIER_TOKEN_FILE: file } }).tokenFile).toBe(file);
    expect(resolveOpts({ env: { AGENTTIER_TOKEN_FILE: file, AGENTTIER_API_KEY: 'atk_env' } }).tokenFile).toBe(
      undefined,
    );
    expect(resolveOpts({ token: 'jwt', env: { AGENTTIER_TOKEN_FILE: file } }).tokenFile).toBeUndefined();
    expect(resolveOpts({ env: {} }).tokenFile).toBeUndefined(); // an explicit env isolates the client
  });

  it('sends the file as a bearer token, read again on every request (the kubelet rotates it)', async () => {
    const file = join(dir, 'token');
    await writeFile(file, 'first-token\n');
    const seen: Array<string | undefined> = [];
    const server = createServer((req, res) => {
      seen.push(req.headers.authorization);
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ id: 'serviceaccount:ns/agent', name: 'agent', groups: [], isAdmin: false }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = new AgentTier({ apiUrl, env: { AGENTTIER_TOKEN_FILE: file } });
      await client.currentUser();
      await writeFile(file, 'rotated-token');
      await client.currentUser();
      await rm(file);
      await client.currentUser(); // unreadable: no credential sent, the server decides (401)
      expect(seen).toEqual(['Bearer first-token', 'Bearer rotated-token', undefined]);
    } finally {
      server.close();
    }
  });
});
