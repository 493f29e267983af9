/**
 * Attack (issue 8 item 5): `agenttier sandbox cp SB:/workspace/d .` wrote outside the destination
 * through a chain of relative links (`l1 -> ..`, `l2 -> l1/..`), and a second cp wrote through them.
 * Here a real sandbox builds the chain, and the copies must keep everything inside the destination.
 *
 *   AGENTTIER_DOCKER_HOST=unix:///run/agenttier/docker.sock npx vitest run --project integration packages/cli/src/cp-links.int.test.ts
 */
import { mkdir, readFile, readdir, readlink, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { useCliPlatform } from './testing/cli-platform.ts';

const t = useCliPlatform('it-cp', { sandbox: { name: 'links', template: 'minimal-shell' } });
const { cli } = t;

describe('cp of a directory holding hostile links', () => {
  it('keeps every write inside the destination, on the first copy and on a second one', async () => {
    const built = await cli(
      'sandbox',
      'exec',
      'links',
      '--shell',
      '--',
      [
        'set -e',
        'mkdir -p /workspace/d/sub',
        'echo inner > /workspace/d/sub/f',
        'ln -s .. /workspace/d/l1',
        'ln -s l1/.. /workspace/d/l2',
        'ln -s l2/l1/l2 /workspace/d/l3',
        'ln -s / /workspace/d/root',
        'ln -s sub/f /workspace/d/good',
      ].join('; '),
    );
    expect(built.code, built.stderr).toBe(0);
    const before = (await readdir(t.dir)).sort();

    const first = await cli('sandbox', 'cp', 'links:/workspace/d', './out');
    expect(first.code, first.stderr).toBe(0);
    expect((await readdir(join(t.dir, 'out'))).sort()).toEqual(['good', 'sub']);
    expect(await readlink(join(t.dir, 'out/good'))).toBe('sub/f');
    expect(await readFile(join(t.dir, 'out/good'), 'utf8')).toBe('inner\n');
    expect((await readdir(t.dir)).sort()).toEqual([...before, 'out'].sort());

    // The sandbox now serves `l2` as a real directory with a file in it, and a link `l2 -> ../..`
    // sits where the next copy lands (as an older CLI left it): the file must not go through it.
    const swapped = await cli(
      'sandbox',
      'exec',
      'links',
      '--shell',
      '--',
      'set -e; rm /workspace/d/l2; mkdir /workspace/d/l2; echo pwned > /workspace/d/l2/evil.txt',
    );
    expect(swapped.code, swapped.stderr).toBe(0);
    await mkdir(join(t.dir, 'out', 'd'));
    const planted = join(t.dir, 'out', 'd', 'l2');
    await symlink('../..', planted);
    const second = await cli('sandbox', 'cp', 'links:/workspace/d', './out'); // lands in out/d
    expect(second.code, second.stderr).toBe(0);
    expect(second.stderr).toMatch(/l2\/evil\.txt \(its directory is a link or a file\)/);
    expect(await readlink(planted)).toBe('../..');
    expect(await readFile(join(t.dir, 'out', 'd', 'sub', 'f'), 'utf8')).toBe('inner\n');
    expect(await readdir(t.dir)).not.toContain('evil.txt');
    expect(await readdir(join(t.dir, 'out'))).not.toContain('evil.txt');
  });
});
