/**
 * Issue 8 items 4 and 9 (red team): an agent in a sandbox prints its recording cap (32 MiB) on every
 * run, and runs were kept until the sandbox was deleted, so each ordinary invoke grew the host's state
 * file by that much without end. A sandbox now keeps at most its retention budget of recorded output;
 * the oldest finished runs go first, running ones and other sandboxes' runs never. Real SQLite file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import type { InvokeRecord } from '@agenttier/core';
import { SqliteAgentRecords } from './sqlite-agent-records.ts';

const MiB = 1024 * 1024;
let dir: string;
let store: SqliteAgentRecords;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'invoke-retention-'));
  store = new SqliteAgentRecords(join(dir, 'state.db'), {
    maxEventBytesPerSandbox: 4 * MiB,
    maxRunsPerSandbox: 50,
  });
});

afterEach(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function run(sandbox: string, state: InvokeRecord['state'], outputMiB: number): Promise<string> {
  const invokeId = `inv-${String(++n).padStart(4, '0')}`;
  await store.createInvoke({
    invokeId,
    namespace: 'default',
    sandbox,
    sandboxUid: `uid-${sandbox}`,
    template: 'agent',
    state,
    detached: true,
    startedAt: new Date(Date.UTC(2026, 11, 6, 0, 0, n)).toISOString(),
    bytesStdout: 0,
    bytesStderr: 0,
    eventCount: 0,
    outputTail: '',
  });
  // What a hostile agent's run leaves: its output, recorded in 64 KiB events.
  const events = Array.from({ length: outputMiB * 16 }, (_, i) => ({
    id: i + 1,
    event: 'stdout',
    data: 'x'.repeat(64 * 1024),
  }));
  await store.appendEvents(invokeId, events);
  return invokeId;
}

async function recordedMiB(ids: string[]): Promise<number> {
  let bytes = 0;
  for (const id of ids) for (const e of await store.readEvents(id, 0, 100_000)) bytes += e.data.length;
  return bytes / MiB;
}

it('keeps a sandbox within its budget of recorded output, oldest finished runs first', async () => {
  const running = await run('hostile', 'running', 1);
  const finished: string[] = [];
  for (let i = 0; i < 20; i++) finished.push(await run('hostile', 'finished', 1));
  const other = await run('neighbour', 'finished', 1);
  // 21 MiB were recorded; kept: the 4 MiB budget, plus what the newest run recorded after it started
  // (pruning happens at a run's start) and the run still going, neither of which is dropped.
  expect(await recordedMiB([running, ...finished])).toBeLessThanOrEqual(6);
  expect(await store.getInvoke(finished[0]!)).toBeUndefined();
  expect(await store.readEvents(finished[0]!, 0, 10)).toEqual([]);
  expect(await store.getInvoke(finished.at(-1)!)).toBeDefined();
  // A run still going keeps its record and output; another sandbox's runs are untouched.
  expect(await recordedMiB([running])).toBe(1);
  expect(await recordedMiB([other])).toBe(1);
});

it('keeps at most maxRunsPerSandbox runs even when they print nothing', async () => {
  store = new SqliteAgentRecords(join(dir, 'runs.db'), {
    maxEventBytesPerSandbox: 4 * MiB,
    maxRunsPerSandbox: 3,
  });
  for (let i = 0; i < 10; i++) await run('chatty', 'finished', 0);
  expect(await store.listInvokes('default', 'chatty', 100)).toHaveLength(3);
});
