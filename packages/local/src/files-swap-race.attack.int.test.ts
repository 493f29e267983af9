/**
 * Issue 8 item 7, a thoughtful attacker's variant (red team): the files API checks a path, then opens
 * it; code in the sandbox swaps a directory on that path for a link out of the roots in between
 * (renameat2 RENAME_EXCHANGE in a loop). Against `agenttier up`, 31 of 300 reads of
 * `/workspace/race/d/passwd` returned the container's /etc/passwd. Every read, listing, upload and
 * archive here runs while the swap loop runs; none may reach outside the roots. Real engine, real
 * sandboxd, the swapper as the sandbox user (perl, x86_64 syscall numbers).
 */
import { describe, expect, it } from 'vitest';
import { zipEntries } from '@agenttier/server/testing';
import { useLocalPlatform } from './testing/local-test-bed.ts';

const bed = useLocalPlatform('it-swap', {
  setup: async (b) => {
    await b.createRunning('race', 'minimal-shell');
  },
});
const q = () => `namespace=${bed.ns}`;

/** Swaps d <-> l (-> /etc) and w <-> m (-> /dev/shm, writable and outside the roots) without end. */
const SWAPPER = [
  'mkdir -p /workspace/race && cd /workspace/race',
  'mkdir -p d w && echo inside > d/inside.txt && ln -sfn /etc l && ln -sfn /dev/shm m',
  // renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE): syscall 316 on x86_64.
  // (syscall needs writable scalars, not literals.)
  `exec perl -e 'my ($d, $l, $w, $m) = qw(d l w m); while (1) { syscall(316, -100, $d, -100, $l, 2); syscall(316, -100, $w, -100, $m, 2) }'`,
].join('\n');

const ATTEMPTS = 300;

describe('a directory swapped for a link while the files API uses it', () => {
  it('never reads, lists, writes or archives outside the roots', async () => {
    const swapper = await bed.api('POST', `/api/v1/sandboxes/race/processes?${q()}`, {
      command: ['bash', '-c', SWAPPER],
      timeout: 3600,
    });
    expect(swapper.status, swapper.text).toBe(201);
    const escaped: string[] = [];
    try {
      for (let i = 0; i < ATTEMPTS; i++) {
        const read = await fetch(`${bed.base}/api/v1/sandboxes/race/files/workspace/race/d/passwd?${q()}`);
        const text = await read.text();
        if (read.status === 200 && text.includes('root:'))
          escaped.push(`read /etc/passwd: ${text.slice(0, 40)}`);
        if (i % 3 === 0) {
          const list = await bed.api('GET', `/api/v1/sandboxes/race/files/?path=/workspace/race/d&${q()}`);
          const names = (list.json?.entries ?? []).map((e: { name: string }) => e.name);
          if (list.status === 200 && names.includes('passwd'))
            escaped.push(`listed /etc: ${names.slice(0, 5)}`);
          const put = await fetch(
            `${bed.base}/api/v1/sandboxes/race/files/workspace/race/w/dropped-${i}?${q()}`,
            {
              method: 'PUT',
              headers: { 'content-type': 'application/octet-stream' },
              body: 'x',
            },
          );
          await put.arrayBuffer();
        }
        if (i % 10 === 0) {
          const zip = await fetch(`${bed.base}/api/v1/sandboxes/race/archive?path=/workspace/race&${q()}`);
          if (zip.status === 200) {
            const names = Object.keys(await zipEntries(Buffer.from(await zip.arrayBuffer())));
            const outside = names.filter((n) => /^race\/[dl]\/(passwd|hostname|hosts)$/.test(n));
            if (outside.length > 0) escaped.push(`archived /etc: ${outside}`);
          } else await zip.arrayBuffer();
        }
      }
    } finally {
      await bed.api('DELETE', `/api/v1/sandboxes/race/processes/${swapper.json.id}?${q()}`);
    }
    // Uploads that landed in /dev/shm went through the swapped link.
    const shm = await bed.exec('race', 'ls /dev/shm');
    if (String(shm.stdout).includes('dropped-')) escaped.push(`wrote into /dev/shm: ${shm.stdout}`);
    expect(escaped, escaped.join('\n')).toEqual([]);
  }, 600_000);
});
