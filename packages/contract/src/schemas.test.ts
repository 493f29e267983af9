import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { FieldIssue } from './errors.ts';
import { ERROR_STATUS, PlatformError, RETRYABLE_CODES, isErrorCode, isPlatformError } from './errors.ts';
import {
  MAX_EXEC_TIMEOUT_SECONDS,
  createSandboxRequestSchema,
  execRequestSchema,
  parseOrThrow,
  patchSandboxRequestSchema,
  templateWriteRequestSchema,
  toFieldIssues,
} from './api.ts';
import {
  MAX_NAME_LENGTH,
  bytesSchema,
  cpuSchema,
  durationSchema,
  nameSchema,
  sandboxSpecSchema,
} from './resources.ts';

/** Runs `parseOrThrow` and returns the thrown PlatformError (fails the test when nothing is thrown). */
function validationError(schema: z.ZodType, input: unknown, what = 'thing', prefix = ''): PlatformError {
  try {
    parseOrThrow(schema, input, what, prefix);
  } catch (err) {
    expect(isPlatformError(err)).toBe(true);
    return err as PlatformError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

function fields(err: PlatformError): string[] {
  return (err.details ?? []).map((d) => d.field);
}

describe('nameSchema (DNS-1123 label, at most 53 characters)', () => {
  it.each(['a', 'abc', 'my-sandbox', 'a1', '1a', '0', 'a-b-c-1', 'a'.repeat(MAX_NAME_LENGTH)])(
    'accepts %j',
    (name) => {
      expect(nameSchema.safeParse(name).success).toBe(true);
    },
  );

  it.each([
    ['uppercase', 'MySandbox'],
    ['a single uppercase letter', 'abC'],
    ['too long', 'a'.repeat(MAX_NAME_LENGTH + 1)],
    ['a leading dash', '-abc'],
    ['a trailing dash', 'abc-'],
    ['an underscore', 'my_sandbox'],
    ['a dot', 'my.sandbox'],
    ['a space', 'my sandbox'],
    ['a slash', 'a/b'],
    ['empty', ''],
    ['unicode', 'sandbøx'],
  ])('rejects %s (%j)', (_why, name) => {
    expect(nameSchema.safeParse(name).success).toBe(false);
  });

  it('rejects non-strings', () => {
    for (const v of [undefined, null, 42, {}, ['a']]) expect(nameSchema.safeParse(v).success).toBe(false);
  });

  it('says why in the message', () => {
    expect(validationError(nameSchema, 'Abc').details?.[0]?.message).toMatch(/lowercase/);
    expect(validationError(nameSchema, 'a'.repeat(54)).details?.[0]?.message).toMatch(/at most 53/);
    expect(validationError(nameSchema, '').details?.[0]?.message).toMatch(/required/);
  });
});

describe('scalar schemas', () => {
  it('durationSchema accepts Go durations and rejects negatives and junk', () => {
    for (const ok of ['30s', '15m', '8h', '1h30m', '0s'])
      expect(durationSchema.safeParse(ok).success, ok).toBe(true);
    for (const bad of ['-5m', 'abc', '', '1x', 30])
      expect(durationSchema.safeParse(bad).success, String(bad)).toBe(false);
  });

  it('cpuSchema and bytesSchema refuse zero and the wrong kind of unit', () => {
    expect(cpuSchema.safeParse('500m').success).toBe(true);
    expect(cpuSchema.safeParse('2').success).toBe(true);
    expect(cpuSchema.safeParse('0').success).toBe(false);
    expect(cpuSchema.safeParse('1Gi').success).toBe(false);
    expect(bytesSchema.safeParse('512Mi').success).toBe(true);
    expect(bytesSchema.safeParse('0').success).toBe(false);
    expect(bytesSchema.safeParse('500m').success).toBe(false);
  });
});

describe('toFieldIssues / parseOrThrow', () => {
  it('returns the parsed value on success', () => {
    const out = parseOrThrow(
      createSandboxRequestSchema,
      { name: 'ok', template: 'minimal-shell' },
      'sandbox',
    );
    expect(out).toEqual({ name: 'ok', template: 'minimal-shell' });
  });

  it('refuses unknown fields in a sandbox body, one issue per field (as the Kubernetes API server does)', () => {
    const err = (() => {
      try {
        parseOrThrow(
          createSandboxRequestSchema,
          { name: 'ok', desiredState: 'Paused', templateRef: { name: 'x', knd: 'y' } },
          'sandbox',
        );
      } catch (e) {
        return e as PlatformError;
      }
      throw new Error('accepted');
    })();
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.details).toEqual(
      expect.arrayContaining([
        { field: 'desiredState', rule: 'unrecognized_keys', message: 'is not a known field' },
        { field: 'templateRef.knd', rule: 'unrecognized_keys', message: 'is not a known field' },
      ]),
    );
    expect(err.details).toHaveLength(2);
  });

  it('throws VALIDATION_FAILED (400) naming every field, its rule and message', () => {
    const err = validationError(
      createSandboxRequestSchema,
      { name: 'Bad_Name', timeout: '-5m', env: [{ name: '1BAD' }] },
      'sandbox',
    );
    expect(err.code).toBe('VALIDATION_FAILED');
    expect(err.status).toBe(400);
    expect(err.details).toEqual<FieldIssue[]>([
      { field: 'name', rule: 'invalid_format', message: expect.stringMatching(/lowercase/) },
      { field: 'timeout', rule: 'custom', message: expect.stringMatching(/duration/) },
      { field: 'env.0.name', rule: 'invalid_format', message: expect.stringMatching(/environment variable/) },
    ]);
    expect(err.message).toMatch(/^invalid sandbox: name .*; timeout .*; env\.0\.name /);
  });

  it('prefixes field paths', () => {
    const err = validationError(z.object({ timeout: durationSchema }), { timeout: 'x' }, 'spec', 'spec');
    expect(fields(err)).toEqual(['spec.timeout']);
    expect(err.message).toMatch(/^invalid spec: spec\.timeout /);
  });

  it('names a top-level problem "(body)" when there is no path', () => {
    const err = validationError(createSandboxRequestSchema, 'not an object', 'sandbox');
    expect(fields(err)).toEqual(['(body)']);
    expect(err.details?.[0]?.rule).toBe('invalid_type');
  });

  it('uses the prefix alone for a problem at the root of a prefixed value', () => {
    expect(fields(validationError(nameSchema, 'BAD', 'template name', 'name'))).toEqual(['name']);
  });

  it('toFieldIssues keeps array indices in the path', () => {
    const r = z.object({ a: z.array(z.object({ b: z.string() })) }).safeParse({ a: [{ b: 'x' }, { b: 1 }] });
    expect(r.success).toBe(false);
    if (!r.success) expect(toFieldIssues(r.error)).toMatchObject([{ field: 'a.1.b', rule: 'invalid_type' }]);
  });
});

describe('createSandboxRequestSchema', () => {
  it('accepts the request the seed product clients send verbatim', () => {
    const body = {
      name: 'demo',
      namespace: 'default',
      templateRef: { name: 'general-coding', kind: 'ClusterSandboxTemplate' },
      timeout: '8h',
      idleTimeout: '30m',
      storage: { size: '10Gi' },
    };
    expect(parseOrThrow(createSandboxRequestSchema, body, 'sandbox')).toEqual(body);
  });

  it('rejects an unknown templateRef kind', () => {
    const err = validationError(createSandboxRequestSchema, {
      name: 'ok',
      templateRef: { name: 't', kind: 'Template' },
    });
    expect(fields(err)).toEqual(['templateRef.kind']);
    expect(err.details?.[0]?.rule).toBe('invalid_value');
  });

  it('rejects an invalid template name in either spelling', () => {
    expect(
      fields(validationError(createSandboxRequestSchema, { name: 'ok', templateRef: { name: 'Bad' } })),
    ).toEqual(['templateRef.name']);
    expect(fields(validationError(createSandboxRequestSchema, { name: 'ok', template: 'Bad' }))).toEqual([
      'template',
    ]);
  });

  it.each([
    ['a negative timeout', { timeout: '-5m' }, 'timeout'],
    ['a malformed timeout', { timeout: '5 minutes' }, 'timeout'],
    ['a numeric timeout', { timeout: 300 }, 'timeout'],
    ['a malformed idleTimeout', { idleTimeout: '1x' }, 'idleTimeout'],
    ['an empty idleTimeout', { idleTimeout: '' }, 'idleTimeout'],
    ['a bad storage size', { storage: { size: 'lots' } }, 'storage.size'],
    ['a relative mount path', { storage: { mountPath: 'workspace' } }, 'storage.mountPath'],
    ['a bad cpu limit', { resources: { limits: { cpu: 'fast' } } }, 'resources.limits.cpu'],
    ['too few pids', { resources: { pids: 1 } }, 'resources.pids'],
    ['an unknown mode', { mode: 'turbo' }, 'mode'],
    ['a non-string label value', { labels: { a: 1 } }, 'labels.a'],
    ['an uppercase namespace', { namespace: 'Prod' }, 'namespace'],
  ])('rejects %s', (_why, extra, field) => {
    expect(fields(validationError(createSandboxRequestSchema, { name: 'ok', ...extra }))).toEqual([field]);
  });

  it('reports a missing name', () => {
    expect(fields(validationError(createSandboxRequestSchema, {}))).toEqual(['name']);
  });

  it('defaults env values to the empty string', () => {
    const out = parseOrThrow(createSandboxRequestSchema, { name: 'ok', env: [{ name: 'A' }] }, 'sandbox');
    expect(out.env).toEqual([{ name: 'A', value: '' }]);
  });
});

describe('other request schemas', () => {
  it('patch accepts an empty body (the service decides that nothing to change is an error)', () => {
    expect(patchSandboxRequestSchema.safeParse({}).success).toBe(true);
    expect(patchSandboxRequestSchema.safeParse({ idleTimeout: '-1s' }).success).toBe(false);
  });

  it('exec takes a string or a non-empty argv and a bounded positive timeout', () => {
    expect(execRequestSchema.safeParse({ command: 'ls' }).success).toBe(true);
    expect(execRequestSchema.safeParse({ command: ['ls', '-la'], timeout: 5 }).success).toBe(true);
    expect(execRequestSchema.safeParse({ command: '' }).success).toBe(false);
    expect(execRequestSchema.safeParse({ command: [] }).success).toBe(false);
    expect(execRequestSchema.safeParse({}).success).toBe(false);
    expect(execRequestSchema.safeParse({ command: 'ls', timeout: 0 }).success).toBe(false);
    expect(execRequestSchema.safeParse({ command: 'ls', timeout: -1 }).success).toBe(false);
    expect(
      execRequestSchema.safeParse({ command: 'ls', timeout: MAX_EXEC_TIMEOUT_SECONDS + 1 }).success,
    ).toBe(false);
    expect(execRequestSchema.safeParse({ command: 'ls', cwd: 'relative' }).success).toBe(false);
    expect(execRequestSchema.safeParse({ command: 'ls', env: { 'BAD-NAME': 'x' } }).success).toBe(false);
  });

  it('template writes validate the nested spec', () => {
    const err = validationError(templateWriteRequestSchema, {
      spec: { timeout: 'soon', inheritsFrom: { name: 'x', kind: 'Nope' } },
    });
    expect(fields(err).sort()).toEqual(['spec.inheritsFrom.kind', 'spec.timeout']);
  });

  it('sandbox spec requires a templateRef', () => {
    expect(fields(validationError(sandboxSpecSchema, {}))).toEqual(['templateRef']);
  });
});

describe('error catalogue', () => {
  it('maps every code to a 4xx or 5xx status', () => {
    for (const [code, status] of Object.entries(ERROR_STATUS)) {
      expect(status, code).toBeGreaterThanOrEqual(400);
      expect(status, code).toBeLessThan(600);
    }
  });

  it('lists only known codes as retryable', () => {
    for (const code of RETRYABLE_CODES) expect(isErrorCode(code)).toBe(true);
  });

  it('isErrorCode accepts catalogue keys only', () => {
    expect(isErrorCode('NOT_FOUND')).toBe(true);
    expect(isErrorCode('not_found')).toBe(false);
    expect(isErrorCode('toString')).toBe(false);
    expect(isErrorCode(404)).toBe(false);
  });

  it('PlatformError carries code, status, details, extra, headers and cause', () => {
    const cause = new Error('boom');
    const err = new PlatformError('RATE_LIMITED', 'slow down', {
      cause,
      details: [{ field: 'x', rule: 'r', message: 'm' }],
      extra: { retryAfter: 5 },
      headers: { 'retry-after': '5' },
    });
    expect(err).toBeInstanceOf(Error);
    expect(err.name).toBe('PlatformError');
    expect(err.status).toBe(429);
    expect(err.cause).toBe(cause);
    expect(err.details).toHaveLength(1);
    expect(err.extra).toEqual({ retryAfter: 5 });
    expect(err.headers).toEqual({ 'retry-after': '5' });
    const bare = new PlatformError('INTERNAL', 'x');
    expect([bare.details, bare.extra, bare.headers]).toEqual([undefined, undefined, undefined]);
  });
});
