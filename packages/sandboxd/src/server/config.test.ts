/**
 * sandboxd's configuration from what agenttier-launch hands over: the token on a descriptor (read once,
 * then closed, never in the environment) and an already-bound listening socket.
 */
import { fstatSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from './config.ts';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A descriptor reading `text` (a file stands in for the launcher's pipe). */
function descriptorWith(text: string): number {
  const dir = mkdtempSync(join(tmpdir(), 'sandboxd-config-'));
  dirs.push(dir);
  writeFileSync(join(dir, 'token'), text);
  return openSync(join(dir, 'token'), 'r');
}

describe('loadConfig with agenttier-launch descriptors', () => {
  it('reads the token from its descriptor and closes it; listens on the inherited socket', () => {
    const fd = descriptorWith('t'.repeat(43) + '\n');
    const config = loadConfig({
      AGENTTIER_SANDBOXD_TOKEN_FD: String(fd),
      AGENTTIER_SANDBOXD_LISTEN_FD: '3',
      AGENTTIER_SANDBOXD_SOCKET: '/run/agenttier/sandboxd.sock',
    });
    expect(config.token).toBe('t'.repeat(43));
    expect(config.listen).toEqual([{ fd: 3 }]);
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
  });

  it('refuses a short token, a closed descriptor and descriptor numbers below 3', () => {
    const short = descriptorWith('short');
    expect(() => loadConfig({ AGENTTIER_SANDBOXD_TOKEN_FD: String(short) })).toThrow(/shorter than 16/);
    expect(() => loadConfig({ AGENTTIER_SANDBOXD_TOKEN_FD: String(short) })).toThrow(/EBADF/);
    expect(() =>
      loadConfig({ AGENTTIER_SANDBOXD_TOKEN: 'x'.repeat(20), AGENTTIER_SANDBOXD_LISTEN_FD: '0' }),
    ).toThrow(/AGENTTIER_SANDBOXD_LISTEN_FD must be a descriptor number of 3 or more/);
  });
});
