import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { LocalPlatformModule } from '../../context.ts';
import { runCli, scratch } from '../../testing/run-cli.ts';

/** A platform whose key store is a Set: `up` only needs ensureAdminKey's contract here. */
function fakePlatform(valid: Set<string>, calls: unknown[]): () => Promise<LocalPlatformModule> {
  return async () => ({
    async startLocalPlatform(opts) {
      calls.push(opts);
      return {
        url: 'http://127.0.0.1:18080',
        close: async () => undefined,
        async ensureAdminKey(existing?: string) {
          if (existing && valid.has(existing)) return { key: existing, created: false };
          const key = `atk_${String(valid.size).padStart(43, '0')}`;
          valid.add(key);
          return { key, created: true };
        },
      };
    },
  });
}

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => ({ dir, cleanup } = await scratch()));
afterEach(() => cleanup());

async function up(args: string[], valid: Set<string>, calls: unknown[] = []) {
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 20);
  return runCli(['up', ...args], {
    signal: ac.signal,
    env: { AGENTTIER_CONFIG: join(dir, 'config.json') },
    loadPlatform: fakePlatform(valid, calls),
  });
}

describe('agenttier up with API keys', () => {
  it('creates an admin key on first start, saves it 0600 in the CLI config, and reuses it after', async () => {
    const valid = new Set<string>();
    const first = await up([], valid);
    expect(first.code, first.stderr).toBe(0);
    const path = join(dir, 'config.json');
    const saved = JSON.parse(await readFile(path, 'utf8')) as { api_key: string };
    expect(saved.api_key).toMatch(/^atk_/);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
    expect(first.stderr).toContain('created an admin key');
    expect(first.stderr).toContain('X-API-Key');
    expect(first.stderr).toMatch(/MCP clients \(streamable HTTP\): http:\/\/\S+\/mcp/);
    expect(first.stderr).not.toContain(saved.api_key); // saved, so not printed
    const second = await up([], valid);
    expect(second.stderr).toContain('the admin key in');
    expect(valid.size).toBe(1);
  });

  it('does not overwrite a config set up for another server; prints the key once instead', async () => {
    const path = join(dir, 'config.json');
    await runCli(['config', 'set', 'api-url', 'https://remote.example'], { env: { AGENTTIER_CONFIG: path } });
    await runCli(['config', 'set', 'api-key', 'atk_remote'], { env: { AGENTTIER_CONFIG: path } });
    const r = await up([], new Set());
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(await readFile(path, 'utf8')).api_key).toBe('atk_remote');
    expect(r.stderr).toMatch(/ {2}atk_0+\n/);
  });

  it('--dev-auth passes devAuth, warns loudly and creates no key', async () => {
    const calls: unknown[] = [];
    const valid = new Set<string>();
    const r = await up(['--dev-auth'], valid, calls);
    expect(r.code, r.stderr).toBe(0);
    expect(calls).toEqual([expect.objectContaining({ devAuth: true })]);
    expect(r.stderr).toContain('WARNING: --dev-auth');
    expect(valid.size).toBe(0);
  });
});
