import { z } from 'zod';
import type { ExecResponse, FileEntry, ProcessInfo } from '@agenttier/contract';
import {
  LIMITS,
  PlatformError,
  fileEntrySchema,
  processInfoSchema,
  toFieldIssues,
} from '@agenttier/contract';

/**
 * sandboxd runs inside the sandbox, and code there can replace it (docs/security.md, "Threat model").
 * Its JSON answers are parsed here with the contract's response schemas before any of it reaches a
 * client: fields the schema does not know are dropped, types and sizes are the documented ones, and
 * anything else is a 502 in the one error shape (docs/security.md, "Daemon answers parsed, not passed
 * through"). The client already caps every answer's bytes (16 MiB of JSON).
 */

/** Issues named in the error: enough to see what was wrong, never the value (the sandbox wrote it). */
const MAX_ISSUES = 5;

/** Parses `answer` with `schema`, or throws 502 RUNTIME_FAILED naming what did not conform. */
export function parseDaemonAnswer<S extends z.ZodType>(
  schema: S,
  answer: unknown,
  what: string,
): z.output<S> {
  const parsed = schema.safeParse(answer);
  if (parsed.success) return parsed.data;
  throw notConforming(parsed.error.issues, what);
}

/**
 * The 502 for an answer out of shape. Only the first issues are looked at (sliced before they are
 * turned into details), and only paths and rule names reach the message, never a value.
 */
function notConforming(
  issues: readonly z.core.$ZodIssue[],
  what: string,
  at: PropertyKey[] = [],
): PlatformError {
  const first = issues.slice(0, MAX_ISSUES).map((i) => ({ ...i, path: [...at, ...i.path] }));
  const details = toFieldIssues({ issues: first } as z.ZodError)
    .slice(0, MAX_ISSUES)
    .map((d) => ({ ...d, field: d.field.slice(0, 128) }));
  return new PlatformError(
    'RUNTIME_FAILED',
    `the sandbox's daemon answered ${what} that does not fit the API's schema (${details
      .map((d) => `${d.field}: ${d.rule}`)
      .join('; ')}); code in the sandbox may have replaced it: restart the sandbox`,
    { details },
  );
}

/**
 * How many items each list a daemon sends may hold. zod has no abort-early: parsing a whole array
 * builds an issue object for every bad element (a 2 MB process list of `{}` took the router past its
 * heap), so lists are checked for kind and length before any element, then parsed one element at a
 * time by parseDaemonList, which stops at the first that fails. Each bound is one an honest sandboxd
 * cannot reach under the client's 16 MiB answer cap (docs/security.md, "Daemon answers parsed, not
 * passed through").
 */
export const DAEMON_LIST_MAX = {
  /** A process as sandboxd writes it is at least ~350 bytes of JSON: 16 MiB holds fewer than 65,536. */
  processes: 65_536,
  /** A directory entry as sandboxd writes it is at least ~140 bytes of JSON: 16 MiB holds fewer than 131,072. */
  dirEntries: 131_072,
  /** One argument is at least one byte and its NUL within the kernel's argv+env budget. */
  argv: LIMITS.execArgvEnvMaxBytes / 2,
  /** TCP and UDP listeners, one per port number and family at most. */
  ports: 65_535 * 2,
} as const;

/** Parses a list: kind and length first, then element by element, stopping at the first that fails. */
export function parseDaemonList<T>(
  element: z.ZodType<T>,
  answer: unknown,
  maxItems: number,
  what: string,
): T[] {
  if (!Array.isArray(answer))
    throw notConforming(
      [{ code: 'invalid_type', expected: 'array', path: [], message: 'expected an array', input: undefined }],
      what,
    );
  if (answer.length > maxItems)
    throw notConforming(
      [
        {
          code: 'too_big',
          origin: 'array',
          maximum: maxItems,
          path: [],
          message: `at most ${maxItems} items`,
          input: undefined,
        },
      ],
      what,
    );
  const items: T[] = [];
  for (let i = 0; i < answer.length; i++) {
    const parsed = element.safeParse(answer[i]);
    if (!parsed.success) throw notConforming(parsed.error.issues, what, [i]);
    items.push(parsed.data);
  }
  return items;
}

/**
 * argv checked in one pass that stops at the first bad argument: the contract's
 * `z.array(z.string().max(…))` would report each bad one of up to 524,288.
 */
const argvSchema = z.custom<string[]>(
  (v) =>
    Array.isArray(v) &&
    v.length <= DAEMON_LIST_MAX.argv &&
    v.every((a) => typeof a === 'string' && a.length <= LIMITS.execArgMaxBytes),
  {
    message: `argv: at most ${DAEMON_LIST_MAX.argv} strings of at most ${LIMITS.execArgMaxBytes} characters`,
  },
);

/** A process as sandboxd reports it: the contract's ProcessInfo, unknown fields dropped. */
const processAnswerSchema = processInfoSchema.extend({ command: argvSchema }).strip();

export function processFromDaemon(answer: unknown): ProcessInfo {
  return parseDaemonAnswer(processAnswerSchema, answer, 'a process');
}

export function processListFromDaemon(answer: unknown): ProcessInfo[] {
  return parseDaemonList(processAnswerSchema, answer, DAEMON_LIST_MAX.processes, 'a process list');
}

/**
 * sandboxd's file info (its own wire form: `modeString`, an ISO `modifiedAt`) turned into the API's
 * FileEntry, whose schema bounds every field.
 */
const daemonFileInfoSchema = z
  .object({
    name: z.string(),
    path: z.string(),
    size: z.number(),
    isDir: z.boolean(),
    modeString: z.string(),
    modifiedAt: z.string().max(64),
    symlinkTarget: z.string().optional(),
  })
  .transform((f): FileEntry => ({
    name: f.name,
    path: f.path,
    size: f.size,
    isDir: f.isDir,
    mode: f.modeString,
    modifiedAt: Math.floor(Date.parse(f.modifiedAt) / 1000),
    ...(f.symlinkTarget !== undefined ? { symlinkTarget: f.symlinkTarget } : {}),
  }))
  .pipe(fileEntrySchema);

export function fileInfoFromDaemon(answer: unknown): FileEntry {
  return parseDaemonAnswer(daemonFileInfoSchema, answer, 'file information');
}

export function fileListFromDaemon(answer: unknown): FileEntry[] {
  const { entries } = parseDaemonAnswer(z.object({ entries: z.unknown() }), answer, 'a directory listing');
  return parseDaemonList(daemonFileInfoSchema, entries, DAEMON_LIST_MAX.dirEntries, 'a directory listing');
}

export function writtenBytesFromDaemon(answer: unknown): number {
  return parseDaemonAnswer(z.object({ bytes: fileEntrySchema.shape.size }), answer, 'a write result').bytes;
}

/** The exec answer's fields besides the output (which the client has already cut to its cap). */
const execAnswerSchema = z.object({
  stdout: z.string(),
  stderr: z.string(),
  exitCode: processInfoSchema.shape.exitCode.unwrap(),
  signal: processInfoSchema.shape.signal.optional(),
  durationMs: processInfoSchema.shape.durationMs.unwrap(),
  timedOut: z.boolean(),
  truncated: z.boolean(),
});

export function execResultFromDaemon(
  answer: unknown,
): Required<Omit<ExecResponse, 'exitCode'>> & { exitCode: number; signal?: string | null } {
  return parseDaemonAnswer(execAnswerSchema, answer, 'an exec result');
}

/** Ports something listens on inside the sandbox: only the numbers are used. */
export function listeningPortsFromDaemon(answer: unknown): number[] {
  return parseDaemonList(
    z.object({ port: z.number().int().min(1).max(65535) }),
    answer,
    DAEMON_LIST_MAX.ports,
    'a port list',
  ).map((p) => p.port);
}

/** One change of a directory watch. */
export function watchEventFromDaemon(answer: unknown): {
  type: 'created' | 'modified' | 'deleted';
  path: string;
} {
  return parseDaemonAnswer(
    z.object({ type: z.enum(['created', 'modified', 'deleted']), path: fileEntrySchema.shape.path }),
    answer,
    'a watch event',
  );
}

/** The start of a process attachment: the parts of it a client is shown. */
export function attachStartFromDaemon(answer: unknown): {
  pid: number | null;
  fromOffset: number;
  droppedBytes: number;
} {
  const size = fileEntrySchema.shape.size;
  const start = parseDaemonAnswer(
    z.object({
      process: z.object({ pid: processInfoSchema.shape.pid }),
      fromOffset: size,
      droppedBytes: size,
    }),
    answer,
    'an attachment',
  );
  return { pid: start.process.pid, fromOffset: start.fromOffset, droppedBytes: start.droppedBytes };
}

/** How a process ended, from its attach channel. */
const exitEventSchema = z.object({
  exitCode: processInfoSchema.shape.exitCode.unwrap(),
  signal: processInfoSchema.shape.signal,
  timedOut: z.boolean(),
  durationMs: processInfoSchema.shape.durationMs.unwrap(),
});

export function exitFromDaemon(answer: unknown): z.output<typeof exitEventSchema> {
  return parseDaemonAnswer(exitEventSchema, answer, 'an exit event');
}

/** An error the daemon reports on an attach channel: its code and words, both bounded. */
export function attachErrorFromDaemon(answer: unknown): { code: string; message: string } {
  return parseDaemonAnswer(
    z.object({ code: z.string().max(64), message: z.string().max(4096) }),
    answer,
    'an error event',
  );
}
