import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@agenttier/testkit';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { SandboxdError } from '../errors.ts';
import { watchDirTree } from './dir-watch.ts';
import type { WatchBudget } from './dir-watch.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'dir-watch-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('watchDirTree caps', () => {
  it('refuses a tree with more directories than the budget and gives every watch back on close', async () => {
    await mkdir(join(root, 'a/b/c'), { recursive: true });
    const budget: WatchBudget = { used: 0, max: 3 };
    const watch = (): Promise<{ close(): void }> =>
      watchDirTree({ root, recursive: true, budget, onRaw: () => {}, onError: () => {} });
    const err = await watch().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SandboxdError);
    expect((err as SandboxdError).code).toBe('resource_exhausted');
    expect(budget.used).toBe(0);

    await rm(join(root, 'a/b/c'), { recursive: true });
    const w = await watch();
    expect(budget.used).toBe(3);
    w.close();
    expect(budget.used).toBe(0);
  });

  it('reports the cap when a directory made later would exceed it, and shares the budget between watches', async () => {
    const budget: WatchBudget = { used: 0, max: 2 };
    const errors: unknown[] = [];
    const first = await watchDirTree({ root, recursive: true, budget, onRaw: () => {}, onError: () => {} });
    const second = await watchDirTree({
      root,
      recursive: true,
      budget,
      onRaw: () => {},
      onError: (e) => errors.push(e),
    });
    expect(budget.used).toBe(2);
    await mkdir(join(root, 'new'));
    await eventually(() => errors.length > 0, 'the cap error');
    expect((errors[0] as SandboxdError).code).toBe('resource_exhausted');
    expect(budget.used).toBe(2);
    first.close();
    second.close();
    expect(budget.used).toBe(0);
  });

  it('drops the watches of a deleted subtree', async () => {
    await mkdir(join(root, 'x/y'), { recursive: true });
    const budget: WatchBudget = { used: 0, max: 10 };
    const seen: string[] = [];
    const w = await watchDirTree({
      root,
      recursive: true,
      budget,
      onRaw: (rel) => seen.push(rel),
      onError: () => {},
    });
    expect(budget.used).toBe(3);
    await rm(join(root, 'x'), { recursive: true });
    await eventually(() => budget.used === 1, 'the subtree watches released');
    await writeFile(join(root, 'after'), '1');
    await eventually(() => seen.includes('after'), 'an event after the subtree went away');
    w.close();
    expect(budget.used).toBe(0);
  });
});
