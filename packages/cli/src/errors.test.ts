import { readFileSync } from 'node:fs';
import { errorFromResponse, ConnectionError, SandboxErrorStateError, TimeoutError } from '@agenttier/sdk';
import { describe, expect, it } from 'vitest';
import { CliError, EXIT, UsageError, describeError } from './errors.ts';

const ctx = { commandPath: ['sandbox', 'exec'], subject: 'box' };
const http = (status: number, body: Record<string, unknown>) => errorFromResponse({ status, body });

describe('describeError', () => {
  it('maps error classes to exit codes', () => {
    expect(describeError(http(404, { error: 'x', code: 'SANDBOX_NOT_FOUND' }), ctx).exitCode).toBe(
      EXIT.NOT_FOUND,
    );
    expect(describeError(http(409, { error: 'x', code: 'INVALID_PHASE' }), ctx).exitCode).toBe(EXIT.CONFLICT);
    expect(describeError(http(400, { error: 'x', code: 'VALIDATION_FAILED' }), ctx).exitCode).toBe(
      EXIT.VALIDATION,
    );
    expect(describeError(http(422, { error: 'x' }), ctx).exitCode).toBe(EXIT.VALIDATION);
    expect(describeError(http(401, { error: 'x' }), ctx).exitCode).toBe(EXIT.ERROR);
    expect(describeError(http(403, { error: 'policy_violation' }), ctx).exitCode).toBe(EXIT.ERROR);
    expect(describeError(http(503, { error: 'x' }), ctx).exitCode).toBe(EXIT.ERROR);
    expect(describeError(new ConnectionError('down', { code: 'CONNECTION_FAILED' }), ctx).exitCode).toBe(
      EXIT.UNREACHABLE,
    );
    expect(describeError(new UsageError('bad flag'), ctx).exitCode).toBe(EXIT.USAGE);
    expect(describeError(new CliError('nope', 3), ctx).exitCode).toBe(3);
    expect(describeError(new DOMException('aborted', 'AbortError'), ctx).exitCode).toBe(EXIT.INTERRUPTED);
  });

  it('does not repeat a hint the server already gave, nor details the message already says', () => {
    const r = describeError(
      http(409, {
        error: 'sandbox "box" is not running; resume it with `agenttier sandbox resume box`',
        code: 'SANDBOX_NOT_RUNNING',
        details: [{ field: 'name', rule: 'x', message: 'is not running' }],
      }),
      ctx,
    );
    expect(r.hint).toBeUndefined();
    expect(r.details).toEqual([]);
  });

  it('lists policy violations and names the sandbox in hints', () => {
    const policy = describeError(
      http(403, {
        error: 'policy_violation',
        violations: [{ code: 'max', message: 'at most 3 sandboxes per user' }],
      }),
      ctx,
    );
    expect(policy.details).toEqual(['  - at most 3 sandboxes per user']);
    const failed = describeError(
      new SandboxErrorStateError('sandbox "box" is in phase Error: boom', { code: 'SANDBOX_ERROR_STATE' }),
      ctx,
    );
    expect(failed.message).toBe('sandbox "box" is in phase Error: boom');
    expect(failed.hint).toContain('agenttier sandbox get box');
    const waited = describeError(new TimeoutError('slow', { code: 'CLIENT_TIMEOUT' }), ctx);
    expect(waited.hint).toContain('--wait-timeout');
  });

  it('explains file system errors plainly and flags everything else as a bug', () => {
    const enoent = Object.assign(new Error('ENOENT: no such file'), {
      code: 'ENOENT',
      syscall: 'open',
      path: 'x.txt',
    });
    expect(describeError(enoent, ctx)).toMatchObject({
      message: 'x.txt: no such file or directory',
      internal: false,
    });
    const bug = describeError(new TypeError('cannot read properties of undefined'), ctx);
    expect(bug.internal).toBe(true);
    expect(bug.hint).toContain('This is a bug in the agenttier CLI');
  });

  it('points at the right list for missing invokes, processes and sandboxes, by code and not by text', () => {
    const invoke = http(404, { error: 'no such run', code: 'INVOKE_NOT_FOUND' });
    expect(describeError(invoke, { commandPath: ['attach'], subject: 'bot' }).hint).toBe(
      'Run `agenttier invokes bot` to see invoke ids',
    );
    const sandbox = http(404, { error: 'sandbox "bot" not found', code: 'SANDBOX_NOT_FOUND' });
    expect(describeError(sandbox, { commandPath: ['attach'], subject: 'bot' }).hint).toBe(
      'Run `agenttier sandbox list` to see names',
    );
    const proc = http(404, { error: 'no such id', code: 'PROCESS_NOT_FOUND' });
    expect(describeError(proc, { commandPath: ['sandbox', 'kill'], subject: 'box' }).hint).toBe(
      'Run `agenttier sandbox ps box` to see process ids',
    );
    // A plain NOT_FOUND whose text happens to mention a process is not a missing process.
    const route = http(404, { error: 'no route for GET /process', code: 'NOT_FOUND' });
    expect(describeError(route, { commandPath: ['sandbox', 'kill'], subject: 'box' }).hint).toBe(
      'Run `agenttier sandbox list` to see names',
    );
  });
});

describe('EXIT', () => {
  it('is the exit code table of docs/cli.md, code for code', () => {
    const doc = readFileSync(new URL('../../../docs/cli.md', import.meta.url), 'utf8');
    const section = doc.slice(doc.indexOf('## Exit codes'));
    const documented = [...section.slice(0, section.indexOf('\n## ')).matchAll(/^\| (\d+) +\|/gm)].map((m) =>
      Number(m[1]),
    );
    expect(documented.sort((a, b) => a - b)).toEqual(Object.values(EXIT).sort((a, b) => a - b));
  });
});
