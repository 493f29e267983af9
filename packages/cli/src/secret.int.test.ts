/**
 * `agenttier secret` and `sandbox create --secret-env/--secret-file` against a real local platform:
 * values go in from literals and files, reach the sandbox, and no command's output carries them.
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/cli/src/secret.int.test.ts
 */
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { useCliPlatform } from './testing/cli-platform.ts';

const t = useCliPlatform('it-secret');
const { cli } = t;
const VALUE = `tok_${randomBytes(12).toString('hex')}`;
const KEY_FILE = Buffer.concat([Buffer.from([0, 255, 10]), randomBytes(32)]);

describe('agenttier secret', () => {
  it('creates from literals and files, lists keys in every format, and never prints a value', async () => {
    await writeFile(join(t.dir, 'id_key'), KEY_FILE);
    const outputs: string[] = [];
    const run = async (...argv: string[]) => {
      const r = await cli(...argv);
      outputs.push(r.stdout, r.stderr);
      return r;
    };
    const created = await run('secret', 'create', 'gh', '--from-literal', `TOKEN=${VALUE}`);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toMatch(/^gh\s+it-secret-\w+\s+TOKEN\s+/m);
    const files = await run(
      'secret',
      'create',
      'ssh',
      '--from-file',
      'id_key',
      '--from-file',
      'renamed=id_key',
    );
    expect(files.code, files.stderr).toBe(0);
    const json = JSON.parse((await run('secret', 'list', '-o', 'json')).stdout) as Array<{
      name: string;
      keys: string[];
    }>;
    expect(json.map((s) => [s.name, s.keys])).toEqual([
      ['gh', ['TOKEN']],
      ['ssh', ['id_key', 'renamed']],
    ]);
    const yaml = parseYaml((await run('secret', 'list', '-o', 'yaml')).stdout) as Array<{ name: string }>;
    expect(yaml.map((s) => s.name)).toEqual(['gh', 'ssh']);
    expect((await run('secret', 'list')).stdout).toMatch(/^NAME\s+NAMESPACE\s+KEYS\s+UPDATED/);

    // A malformed literal is refused by position: its text (maybe the value itself) is not echoed.
    const bad = await run('secret', 'create', 'x', '--from-literal', VALUE);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('--from-literal number 1');
    for (const o of outputs) expect(o).not.toContain(VALUE);

    const sb = await cli(
      'sandbox',
      'create',
      'uses',
      '-t',
      'general-coding',
      '--secret-env',
      'gh=GH_',
      '--secret-file',
      'ssh=/credentials/ssh',
      '--wait',
      '--wait-timeout',
      '3m',
    );
    expect(sb.code, sb.stderr).toBe(0);
    expect(sb.stdout).not.toContain(VALUE);
    expect((await cli('sandbox', 'exec', 'uses', '--', 'printenv', 'GH_TOKEN')).stdout).toBe(`${VALUE}\n`);
    // Through base64: exec answers carry text, and the file is binary.
    const file = await cli('sandbox', 'exec', 'uses', '--', 'base64', '-w0', '/credentials/ssh/renamed');
    expect(file.stdout).toBe(KEY_FILE.toString('base64'));

    const del = await cli('secret', 'delete', 'gh', 'ssh');
    expect(del.code, del.stderr).toBe(0);
    expect((await cli('secret', 'list', '-o', 'json')).stdout.trim()).toBe('[]');
    const gone = await cli('secret', 'delete', 'gh');
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('not found');
  }, 240_000);
});
