import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
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
