/**
 * Attack (issue 8 item 7): archives went through the engine as root, so after `ln -s / /workspace/r`
 * `archive?path=/workspace/r/etc` returned /etc/shadow and `…/r/run/agenttier` the daemon's token.
 * Here a real sandbox builds every kind of link, special file and oversized tree it can, and the
 * archive must obey the file calls' confinement: made as the sandbox user, no link followed out of
 * the roots, no special file, links in the zip only when they stay inside, the 32 MiB cap enforced
 * with 413 before the download starts. Without sandboxd (engine fallback) archives are refused and
 * file reads run as the sandbox user too.
 */
import { describe, expect, it } from 'vitest';
import type { LocalTestBed } from './testing/local-test-bed.ts';
import { useLocalPlatform } from './testing/local-test-bed.ts';
import { zipEntries } from '@agenttier/server/testing';

const SETUP = `
set -e
mkdir -p /workspace/d/sub /workspace/big /workspace/sparse
echo ok > /workspace/d/ok.txt
echo inner > /workspace/d/sub/inner.txt
ln -s / /workspace/r
ln -s / /workspace/d/root
ln -s /run/agenttier /workspace/d/run
ln -s /proc/self/root /workspace/d/proc
ln -s .. /workspace/d/l1
ln -s l1/.. /workspace/d/l2
ln -s l2/l1 /workspace/d/l3
ln -s sub/inner.txt /workspace/d/good
ln -s good /workspace/d/good2
mkfifo /workspace/d/fifo
# Best effort: the kernel (protected_hardlinks, no CAP_MKNOD) may refuse these; either way nothing leaks.
ln /etc/shadow /workspace/d/shadow-hard 2>/dev/null || true
mknod /workspace/d/null c 1 3 2>/dev/null || true
head -c 41943040 /dev/zero > /workspace/big/f
truncate -s 1G /workspace/sparse/f
`;

async function archive(bed: LocalTestBed, path: string) {
  const res = await fetch(
    `${bed.base}/api/v1/sandboxes/box/archive?${bed.q}&path=${encodeURIComponent(path)}`,
  );
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()) };
}

// Each describe has its own platform, started in its beforeAll and stopped in its afterAll: one platform
// at a time on the engine.
describe('archives obey the file confinement', () => {
  const bed = useLocalPlatform('it-arch', {
    setup: async (b) => {
      await b.createRunning('box', 'minimal-shell');
      const r = await b.exec('box', ['sh', '-c', SETUP]);
      expect(r.exitCode, r.stderr).toBe(0);
    },
  });

  it('refuses a directory reached through a link out of the roots', async () => {
    for (const path of [
      '/workspace/r/etc',
      '/workspace/r/run/agenttier',
      '/workspace/d/proc',
      '/workspace/d/run',
    ]) {
      const r = await archive(bed, path);
      expect(r.status, path).toBe(403);
      expect(JSON.parse(r.body.toString())).toMatchObject({ code: 'FORBIDDEN' });
    }
  });

  it('archives files and inside links only: no link out, no chain out, no FIFO, no device', async () => {
    const r = await archive(bed, '/workspace/d');
    expect(r.status, r.body.toString().slice(0, 300)).toBe(200);
    const entries = await zipEntries(r.body);
    expect(entries).toEqual({
      'd/': '/',
      'd/ok.txt': 'ok\n',
      'd/sub/': '/',
      'd/sub/inner.txt': 'inner\n',
      'd/good': '-> sub/inner.txt',
      'd/good2': '-> good',
    });
  });

  it('does not follow /workspace/r when archiving the whole workspace', async () => {
    const r = await archive(bed, '/workspace');
    // The big files put this over the cap: archive a copy of the workspace without them instead.
    expect(r.status).toBe(413);
    const copy = await bed.exec('box', [
      'sh',
      '-c',
      'mkdir -p /tmp/w && cp -a /workspace/d /workspace/r /tmp/w/',
    ]);
    expect(copy.exitCode, copy.stderr).toBe(0);
    const w = await archive(bed, '/tmp/w');
    expect(w.status).toBe(200);
    const names = Object.keys(await zipEntries(w.body));
    expect(names).toContain('w/d/ok.txt');
    expect(names.some((n) => /shadow|etc\/|agenttier|token/.test(n))).toBe(false);
    expect(names).not.toContain('w/r');
  });

  it('answers 413 in the error shape for a tree over 32 MiB, before any byte, sparse files included', async () => {
    for (const path of ['/workspace/big', '/workspace/sparse']) {
      const r = await archive(bed, path);
      expect(r.status, path).toBe(413);
      expect(JSON.parse(r.body.toString())).toMatchObject({
        code: 'PAYLOAD_TOO_LARGE',
        error: expect.any(String),
        requestId: expect.any(String),
      });
    }
  });

  it('reads files as the sandbox user: a link out of the roots is refused', async () => {
    const r = await bed.api('GET', `/api/v1/sandboxes/box/files/workspace/r/etc/shadow?${bed.q}`);
    expect(r.status).toBe(403);
  });
});

describe('without sandboxd (engine fallback)', () => {
  const bed = useLocalPlatform('it-arch-engine', {
    sandboxd: false,
    setup: async (b) => {
      // Not createRunning: that waits for sandboxd to serve execs, and this platform runs none.
      const created = await b.api('POST', '/api/v1/sandboxes', {
        name: 'box',
        namespace: b.ns,
        templateRef: { name: 'minimal-shell' },
      });
      expect(created.status, created.text).toBe(201);
      await b.waitForPhase('box', 'Running');
      const r = await b.exec('box', [
        'sh',
        '-c',
        'mkdir -p /workspace/d && echo ok > /workspace/d/ok.txt && ln -s / /workspace/r',
      ]);
      expect(r.exitCode, r.stderr).toBe(0);
    },
  });

  it('refuses archives and reads and writes files as the sandbox user, never as root', async () => {
    const a = await archive(bed, '/workspace/d');
    expect(a.status).toBe(503);
    expect(JSON.parse(a.body.toString())).toMatchObject({ code: 'UNAVAILABLE' });
    const shadow = await bed.api('GET', `/api/v1/sandboxes/box/files/workspace/r/etc/shadow?${bed.q}`);
    expect(shadow.status).toBe(403);
    expect(shadow.text).not.toMatch(/root:/);
    const ok = await bed.api('GET', `/api/v1/sandboxes/box/files/workspace/d/ok.txt?${bed.q}`);
    expect(ok).toMatchObject({ status: 200, text: 'ok\n' });
    const put = await bed.api('PUT', `/api/v1/sandboxes/box/files/workspace/d/new.txt?${bed.q}`, 'written');
    expect(put.status, put.text).toBe(201);
    const back = await bed.exec('box', ['stat', '-c', '%u %s', '/workspace/d/new.txt']);
    expect(back.stdout).toBe('1000 7\n');
    // As root the engine could write where the sandbox user cannot; as the user it is refused.
    const root = await bed.api('PUT', `/api/v1/sandboxes/box/files/workspace/r/etc/evil?${bed.q}`, 'x');
    expect(root.status).toBeGreaterThanOrEqual(400);
  });
});
