import { mkdtempSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '@agenttier/testkit';
import { whenFileAppears } from './socket-appearance.ts';

const dirs: string[] = [];
const freshDir = () => {
  const dir = mkdtempSync(join(tmpdir(), 'socket-appearance-'));
  dirs.push(dir);
  return dir;
};
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

describe('whenFileAppears', () => {
  it('calls back once when the file is created, not for other names', async () => {
    const dir = freshDir();
    let calls = 0;
    whenFileAppears(dir, 'sandboxd.sock', () => calls++, { maxWaitMs: 60_000 });
    writeFileSync(join(dir, 'other'), '');
    writeFileSync(join(dir, 'sandboxd.sock'), '');
    await eventually(() => calls === 1, 'the socket is seen');
    // The watch has ended: the sandbox cannot make it fire again.
    await rm(join(dir, 'sandboxd.sock'));
    writeFileSync(join(dir, 'sandboxd.sock'), '');
    writeFileSync(join(dir, 'marker'), '');
    const marker = { seen: false };
    whenFileAppears(dir, 'marker', () => (marker.seen = true), { maxWaitMs: 60_000 });
    await eventually(() => marker.seen, 'the marker is seen');
    expect(calls).toBe(1);
  });

  it('calls back at once when the file is already there', () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'sandboxd.sock'), '');
    let calls = 0;
    whenFileAppears(dir, 'sandboxd.sock', () => calls++, { maxWaitMs: 60_000 });
    expect(calls).toBe(1);
  });

  it('never calls back after close, nor for a directory that does not exist', async () => {
    const dir = freshDir();
    let calls = 0;
    whenFileAppears(dir, 'sandboxd.sock', () => calls++, { maxWaitMs: 60_000 }).close();
    whenFileAppears(join(dir, 'missing'), 'sandboxd.sock', () => calls++, { maxWaitMs: 60_000 });
    writeFileSync(join(dir, 'sandboxd.sock'), '');
    const marker = { seen: false };
    whenFileAppears(dir, 'sandboxd.sock', () => (marker.seen = true), { maxWaitMs: 60_000 });
    await eventually(() => marker.seen, 'the marker is seen');
    expect(calls).toBe(0);
  });
});
