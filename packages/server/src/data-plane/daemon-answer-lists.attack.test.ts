/**
 * Attack: a replaced sandboxd answers a list of many bad elements, each a few bytes (`[{},{},…]`).
 * zod reports every bad element (no abort-early), so parsing such a list whole built millions of
 * issue objects and ran the router out of memory. The lists are checked for length before any
 * element and parsed one element at a time, stopping at the first bad one. What is measured is how
 * many elements the parse reads (a proxy counts the reads), which does not depend on the machine.
 */
import { describe, expect, it } from 'vitest';
import { PlatformError } from '@agenttier/contract';
import {
  DAEMON_LIST_MAX,
  fileListFromDaemon,
  listeningPortsFromDaemon,
  processFromDaemon,
  processListFromDaemon,
} from './daemon-answers.ts';

/** An array of `length` copies of `element` that counts how many of its elements are read. */
function countingList(length: number, element: () => unknown): { list: unknown[]; reads: () => number } {
  let reads = 0;
  const list = new Proxy(Array.from({ length }, element), {
    get(target, key, receiver) {
      if (typeof key === 'string' && /^\d+$/.test(key)) reads++;
      return Reflect.get(target, key, receiver) as unknown;
    },
  });
  return { list, reads: () => reads };
}

/** The 502 a parse throws: RUNTIME_FAILED, a few details, a short message without the daemon's values. */
function refusal(parse: () => unknown): PlatformError {
  let thrown: unknown;
  try {
    parse();
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(PlatformError);
  const err = thrown as PlatformError;
  expect(err.code).toBe('RUNTIME_FAILED');
  expect(err.message).toMatch(/does not fit the API's schema/);
  expect(err.message.length).toBeLessThan(1024);
  expect((err.details as unknown[]).length).toBeLessThanOrEqual(5);
  return err;
}

const honestProcess = () => ({
  id: 'p-1',
  name: null,
  kind: 'exec',
  pid: 7,
  command: ['true'],
  cwd: '/workspace',
  state: 'exited',
  startedAt: '2026-03-01T12:00:00.000Z',
  finishedAt: '2026-03-01T12:00:01.000Z',
  exitCode: 0,
  signal: null,
  timedOut: false,
  durationMs: 3,
  killOnDetach: false,
  stdinOpen: false,
  attachments: 0,
  outputBytes: 0,
  bufferStartOffset: 0,
});

describe('a list of many bad elements is refused at its first bad one', () => {
  const LISTS = [
    { what: 'process list', max: DAEMON_LIST_MAX.processes, parse: processListFromDaemon },
    {
      what: 'directory listing',
      max: DAEMON_LIST_MAX.dirEntries,
      parse: (list: unknown) => fileListFromDaemon({ path: '/workspace', entries: list }),
    },
    { what: 'port list', max: DAEMON_LIST_MAX.ports, parse: listeningPortsFromDaemon },
  ];

  it.each(LISTS)(
    '$what: a list just within the bound, every element bad, reads one element',
    ({ max, parse }) => {
      const { list, reads } = countingList(max, () => ({}));
      refusal(() => parse(list));
      expect(reads()).toBe(1);
    },
  );

  it.each(LISTS)('$what: a list over the bound is refused before any element is read', ({ max, parse }) => {
    const { list, reads } = countingList(max + 1, () => ({}));
    expect(refusal(() => parse(list)).message).toMatch(/too_big/);
    expect(reads()).toBe(0);
  });

  it('a process list: good elements then a bad one reads up to the bad one and names its index', () => {
    const { list, reads } = countingList(1000, honestProcess);
    list[10] = { ...honestProcess(), pid: '7; reboot' };
    expect(refusal(() => processListFromDaemon(list)).message).toContain('10.pid');
    expect(reads()).toBe(11);
  });

  it("a process's argv of many non-strings reads one argument", () => {
    const { list, reads } = countingList(DAEMON_LIST_MAX.argv, () => 0);
    expect(refusal(() => processFromDaemon({ ...honestProcess(), command: list })).message).toContain(
      'command',
    );
    expect(reads()).toBe(1);
  });

  it('an honest list passes whole', () => {
    const { list } = countingList(1000, honestProcess);
    expect(processListFromDaemon(list)).toHaveLength(1000);
  });
});
