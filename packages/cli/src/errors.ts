import {
  AgentTierError,
  AuthenticationError,
  ConcurrencyError,
  ConfigureError,
  ConflictError,
  ConnectionError,
  NotConfiguredError,
  NotFoundError,
  PayloadTooLargeError,
  PolicyViolationError,
  RateLimitError,
  SandboxErrorStateError,
  ServerError,
  TimeoutError,
  ValidationError,
} from '@agenttier/sdk';
import { ERROR_HINTS, retryHint } from '@agenttier/contract';

/** Process exit codes. `sandbox exec` passes the command's own code through instead. */
export const EXIT = {
  OK: 0,
  ERROR: 1,
  USAGE: 2,
  NOT_FOUND: 3,
  CONFLICT: 4,
  VALIDATION: 5,
  UNREACHABLE: 6,
  /** The command (an exec, an invoke) ran out of its own time limit; as timeout(1). */
  TIMED_OUT: 124,
  INTERRUPTED: 130,
} as const;

/** An error the CLI raises on purpose: its message is for the user, `hint` says what to do next. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: number = EXIT.ERROR,
    readonly hint?: string,
    opts: { cause?: unknown } = {},
  ) {
    super(message, opts);
  }
}

/** Wrong flags or arguments: exit 2. */
export class UsageError extends CliError {
  override name = 'UsageError';
  constructor(message: string, hint?: string) {
    super(message, EXIT.USAGE, hint);
  }
}

/** What the command was doing when it failed, so hints can name the right next command. */
export interface ErrorContext {
  /** e.g. `['sandbox', 'exec']`. */
  commandPath: string[];
  /** The first positional argument (usually the sandbox or template name). */
  subject?: string;
  apiUrl?: string;
  configPath?: string;
}

export interface ErrorReport {
  exitCode: number;
  message: string;
  /** Extra lines printed under the message (field errors, violations). */
  details: string[];
  hint?: string;
  /** True when the error is a bug in the CLI rather than a problem with input or server. */
  internal: boolean;
}

const SYSTEM_MESSAGES: Record<string, string> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EISDIR: 'is a directory',
  ENOTDIR: 'not a directory',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on device',
};

function noun(ctx: ErrorContext): string | undefined {
  return ctx.commandPath[0];
}

function nameOr(ctx: ErrorContext, fallback = 'NAME'): string {
  const m = ctx.subject ? /^([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)(?::|$)/.exec(ctx.subject) : null;
  return m?.[1] ?? fallback;
}

function hintFor(err: AgentTierError, ctx: ErrorContext): string | undefined {
  if (err instanceof ConnectionError) {
    return `Start the platform with \`agenttier up\`, or point --api-url / AGENTTIER_API_URL at a running server${
      ctx.apiUrl ? ` (using ${ctx.apiUrl})` : ''
    }`;
  }
  if (err instanceof AuthenticationError) {
    return `Pass --api-key (or --token), set AGENTTIER_API_KEY, or save one with \`agenttier config set api-key KEY\``;
  }
  if (err instanceof NotFoundError) {
    if (err.code === 'INVOKE_NOT_FOUND') return `Run \`agenttier invokes ${nameOr(ctx)}\` to see invoke ids`;
    if (err.code === 'PROCESS_NOT_FOUND')
      return `Run \`agenttier sandbox ps ${nameOr(ctx)}\` to see process ids`;
    if (err.code === 'PORT_NOT_FOUND')
      return `Run \`agenttier sandbox ports list ${nameOr(ctx)}\` to see forwarded ports`;
    if (err.code === 'FILE_NOT_FOUND') {
      return `Run \`agenttier sandbox files ls ${nameOr(ctx)} /workspace\` to see files`;
    }
    if (err.code === 'TEMPLATE_NOT_FOUND' || noun(ctx) === 'template') {
      return 'Run `agenttier template list` to see names';
    }
    return 'Run `agenttier sandbox list` to see names';
  }
  if (err instanceof ConflictError) {
    if (err.code === 'ALREADY_EXISTS') {
      return noun(ctx) === 'template'
        ? 'Use `agenttier template apply` to update it'
        : `Pick another name, or delete the old one with \`agenttier sandbox delete ${nameOr(ctx)}\``;
    }
    if (err.code === 'TEMPLATE_IN_USE')
      return 'Delete the sandboxes that use it first (`agenttier sandbox list`)';
    const name = nameOr(ctx);
    return `Check its phase with \`agenttier sandbox get ${name}\`; start a stopped sandbox with \`agenttier sandbox resume ${name}\``;
  }
  if (err instanceof SandboxErrorStateError) {
    const name = nameOr(ctx);
    return `Inspect it with \`agenttier sandbox get ${name}\`, then \`agenttier sandbox delete ${name}\` and create it again`;
  }
  if (err instanceof TimeoutError) {
    return err.status === 0 && err.code === 'CLIENT_TIMEOUT' && ctx.commandPath.length > 0
      ? `Wait longer with --wait-timeout, or check it with \`agenttier sandbox get ${nameOr(ctx)}\``
      : undefined;
  }
  if (err instanceof NotConfiguredError) {
    return `Configure it first: \`agenttier configure ${nameOr(ctx)} --file /workspace/agent.py=./agent.py --entrypoint "python3 /workspace/agent.py"\``;
  }
  if (err instanceof ConfigureError) {
    return err.phase === 'install'
      ? 'Fix the install command, or allow it more time with --install-timeout'
      : 'Check the --file paths (absolute, under /workspace or /tmp)';
  }
  if (err instanceof ValidationError && err.code === 'WRONG_MODE') {
    return `Agent commands need an agent-mode sandbox (\`agenttier sandbox create NAME -t langgraph-agent\`, or --mode agent); use \`agenttier sandbox exec\` for code-mode ones`;
  }
  if (err instanceof ConcurrencyError) {
    const wait =
      err.retryAfterMs !== undefined ? `in ${Math.max(1, Math.ceil(err.retryAfterMs / 1000))}s` : 'later';
    return `The sandbox runs its maximum of concurrent invokes; retry ${wait}, or raise it with \`agenttier configure ${nameOr(ctx)} --max-concurrent-invokes N\``;
  }
  if (err instanceof RateLimitError) return retryHint(err.retryAfterMs);
  if (err instanceof PayloadTooLargeError) {
    return `${ERROR_HINTS.PAYLOAD_TOO_LARGE}, and unpack it with \`agenttier sandbox exec\``;
  }
  if (err instanceof PolicyViolationError) return ERROR_HINTS.POLICY_VIOLATION;
  if (err.code === 'QUOTA_EXCEEDED') return ERROR_HINTS.QUOTA_EXCEEDED;
  if (err instanceof ValidationError) return `See \`agenttier ${ctx.commandPath.join(' ')} --help\``;
  if (err instanceof ServerError) {
    if (err.code === 'UPSTREAM_UNREACHABLE') return ERROR_HINTS.UPSTREAM_UNREACHABLE;
    return `The server failed${err.requestId ? ` (request id ${err.requestId})` : ''}; check its logs`;
  }
  return undefined;
}

function exitCodeFor(err: AgentTierError): number {
  if (err instanceof ConnectionError) return EXIT.UNREACHABLE;
  if (err instanceof NotFoundError) return EXIT.NOT_FOUND;
  if (err instanceof ConflictError) return EXIT.CONFLICT;
  if (err instanceof ValidationError) return EXIT.VALIDATION;
  return EXIT.ERROR;
}

/** The one mapping from anything thrown to what the user sees and the exit code. */
export function describeError(err: unknown, ctx: ErrorContext): ErrorReport {
  if (err instanceof CliError) {
    return { exitCode: err.exitCode, message: err.message, details: [], hint: err.hint, internal: false };
  }
  if (err instanceof AgentTierError) {
    const message = err.serverMessage || err.message;
    const details: string[] = [];
    if (err instanceof PolicyViolationError) {
      for (const v of err.violations) if (!message.includes(v.message)) details.push(`  - ${v.message}`);
    } else {
      // A lone detail often just repeats the summary; only show what adds something.
      for (const d of err.details)
        if (!message.includes(d.message)) details.push(`  - ${d.field}: ${d.message}`);
    }
    // The server's own message may already name the command to run next; don't say it twice.
    const hint = /`agenttier [a-z]/.test(message) ? undefined : hintFor(err, ctx);
    return { exitCode: exitCodeFor(err), message, details, hint, internal: false };
  }
  if (
    err instanceof Error &&
    (err.name === 'AbortError' || (err as { code?: unknown }).code === 'ABORT_ERR')
  ) {
    return { exitCode: EXIT.INTERRUPTED, message: 'interrupted', details: [], internal: false };
  }
  const sys = err as { code?: unknown; path?: unknown; syscall?: unknown; message?: unknown };
  if (err instanceof Error && typeof sys.code === 'string' && typeof sys.syscall === 'string') {
    const what = SYSTEM_MESSAGES[sys.code] ?? sys.code;
    const path = typeof sys.path === 'string' ? `${sys.path}: ` : '';
    return { exitCode: EXIT.ERROR, message: `${path}${what}`, details: [], internal: false };
  }
  const message = err instanceof Error ? err.message : String(err);
  return {
    exitCode: EXIT.ERROR,
    message,
    details: [],
    hint: 'This is a bug in the agenttier CLI. Re-run with AGENTTIER_DEBUG=1 and report the output',
    internal: true,
  };
}
