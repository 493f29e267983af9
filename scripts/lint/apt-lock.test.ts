// `npm test` runs on machines where something else may be installing packages at the same moment
// (unattended-upgrades on a fresh VM): apt-get without a lock timeout fails at once on the dpkg lock.
// Every apt-get our scripts run waits for the lock instead.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '../..');

/** The apt-get invocations of a shell script that do not wait for the dpkg lock, as `path:line`. */
function aptGetsWithoutLockTimeout(path: string, text: string): string[] {
  const found: string[] = [];
  text.split('\n').forEach((line, i) => {
    const code = line.replace(/(^|\s)#.*$/, '');
    for (const m of code.matchAll(/\bapt-get\b([^;&|)]*)/g)) {
      if (!/-o\s+DPkg::Lock::Timeout=\d+/.test(m[1]!)) found.push(`${path}:${i + 1}`);
    }
  });
  return found;
}

describe('package installs', () => {
  it('finds an apt-get without the lock timeout, and accepts one with it', () => {
    const script = [
      '# apt-get install in a comment is not run',
      'apt-get -o DPkg::Lock::Timeout=300 update -qq && apt-get install -y foo',
      'DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y bar',
    ].join('\n');
    expect(aptGetsWithoutLockTimeout('x.sh', script)).toEqual(['x.sh:2']);
  });

  it('every apt-get in scripts/ and .ci/ waits for the dpkg lock', () => {
    const files = execFileSync('git', ['ls-files', 'scripts', '.ci'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((path) => path && !path.endsWith('.test.ts'));
    const scripts = files.filter((path) => /apt-get/.test(readFileSync(join(ROOT, path), 'utf8')));
    expect(scripts.length).toBeGreaterThan(0);
    expect(
      scripts.flatMap((path) => aptGetsWithoutLockTimeout(path, readFileSync(join(ROOT, path), 'utf8'))),
    ).toEqual([]);
  });
});
