import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { sendJson, startTestServer, type TestServer } from '@agenttier/sdk/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configPath, resolveSettings } from './config.ts';
import { runCli, scratch } from './testing/run-cli.ts';

let dir: string;
let cleanup: () => Promise<void>;
beforeEach(async () => {
  ({ dir, cleanup } = await scratch());
});
afterEach(() => cleanup());

describe('resolveSettings', () => {
  it('takes flag, then env, then config, then the default', () => {
    const config = { api_url: 'http://config:1', output: 'yaml', namespace: 'cfg' };
    expect(resolveSettings({}, {}, {})).toMatchObject({ apiUrl: 'http://127.0.0.1:8080', output: 'table' });
    expect(resolveSettings({}, {}, config)).toMatchObject({
      apiUrl: 'http://config:1',
      output: 'yaml',
      namespace: 'cfg',
    });
    expect(resolveSettings({}, { AGENTTIER_API_URL: 'http://env:2' }, config).apiUrl).toBe('http://env:2');
    expect(
      resolveSettings(
        { apiUrl: 'http://flag:3', output: 'json' },
        { AGENTTIER_API_URL: 'http://env:2' },
        config,
      ),
    ).toMatchObject({
      apiUrl: 'http://flag:3',
      output: 'json',
    });
  });

  it('takes credentials as a pair from the highest source that has any', () => {
    const env = { AGENTTIER_API_KEY: 'atk_env' };
    expect(resolveSettings({ token: 'jwt' }, env, { api_key: 'atk_cfg' })).toMatchObject({
      token: 'jwt',
      credentialSource: 'flag',
    });
    expect(resolveSettings({ token: 'jwt' }, env, {}).apiKey).toBeUndefined();
    expect(resolveSettings({}, env, { token: 'cfg' })).toMatchObject({
      apiKey: 'atk_env',
      credentialSource: 'env',
    });
    expect(resolveSettings({}, {}, { token: 'cfg' })).toMatchObject({
      token: 'cfg',
      credentialSource: 'config',
    });
  });

  it('finds the config file under HOME unless AGENTTIER_CONFIG says otherwise', () => {
    expect(configPath({}, '/home/u')).toBe('/home/u/.config/agenttier/config.json');
    expect(configPath({ AGENTTIER_CONFIG: '/etc/at.json' }, '/home/u')).toBe('/etc/at.json');
  });
});

describe('config file', () => {
  let server: TestServer;
  beforeEach(async () => {
    server = await startTestServer({
      'GET /api/v1/sandboxes': (_req, res) => sendJson(res, 200, { sandboxes: [] }),
    });
  });
  afterEach(() => server.close());

  it('config set writes mode 0600 and later commands use the saved values', async () => {
    const env = { AGENTTIER_CONFIG: join(dir, 'sub', 'config.json') };
    expect((await runCli(['config', 'set', 'api-url', server.url], { env })).code).toBe(0);
    expect((await runCli(['config', 'set', 'api-key', 'atk_secret_value'], { env })).code).toBe(0);
    const file = join(dir, 'sub', 'config.json');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({
      api_url: server.url,
      api_key: 'atk_secret_value',
    });

    const r = await runCli(['sandbox', 'list', '-o', 'json'], { env });
    expect(r.code).toBe(0);
    expect(server.requests[0]?.headers['x-api-key']).toBe('atk_secret_value');

    const view = await runCli(['config', 'view', '-o', 'json'], { env });
    const data = JSON.parse(view.stdout) as {
      saved: { api_key: string };
      effective: { credentialSource: string };
    };
    expect(data.saved.api_key).toBe('atk_…ue');
    expect(data.effective.credentialSource).toBe('config');

    expect((await runCli(['config', 'unset', 'api-key'], { env })).code).toBe(0);
    expect(JSON.parse(await readFile(file, 'utf8'))).toEqual({ api_url: server.url });
    expect((await runCli(['config', 'set', 'colour', 'x'], { env })).code).toBe(2);
  });

  it('warns when a file holding credentials is readable by others, and rejects broken JSON', async () => {
    const file = join(dir, 'c.json');
    await writeFile(file, JSON.stringify({ api_url: server.url, token: 'jwt' }));
    await chmod(file, 0o644);
    const r = await runCli(['sandbox', 'list'], { env: { AGENTTIER_CONFIG: file } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`run \`chmod 600 ${file}\``);
    expect(server.requests[0]?.headers.authorization).toBe('Bearer jwt');

    await writeFile(file, '{ nope');
    const broken = await runCli(['sandbox', 'list'], { env: { AGENTTIER_CONFIG: file } });
    expect(broken.code).toBe(1);
    expect(broken.stderr).toContain(`config file ${file} is not valid JSON`);
  });
});
