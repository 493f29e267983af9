import { describe, expect, it } from 'vitest';
import { sandboxPath } from './inputs.ts';
import { capText, capped, toolError } from './results.ts';
import { NotFoundError } from '@agenttier/sdk';

describe('sandboxPath', () => {
  it.each([
    ['/workspace/a.txt', true],
    ['/tmp/x', true],
    ['relative.txt', false],
    ['/workspace/../etc/passwd', false],
    ['/workspace/a\nb', false],
    ['/workspace/a\u007fb', false],
    ['/workspace\\evil', false],
    ['', false],
    [`/${'a'.repeat(4096)}`, false],
  ])('%j valid: %s', (path, valid) => {
    expect(sandboxPath.safeParse(path).success).toBe(valid);
  });
});

describe('output caps', () => {
  it('cuts on a character boundary and counts what it cut', () => {
    const text = 'é'.repeat(10); // 20 bytes
    const { text: head, cutBytes } = capText(text, 5);
    expect(head).toBe('éé');
    expect(cutBytes).toBe(16);
    expect(capText('short', 100)).toEqual({ text: 'short', cutBytes: 0 });
    expect(capped('abcdef', 3, 'stdout')).toMatch(/^abc\n\[stdout: 3 more bytes not shown/);
  });
});

describe('toolError', () => {
  it('leads with the code and status so a model can switch on them', () => {
    const res = toolError(
      new NotFoundError('sandbox "x" not found', { code: 'SANDBOX_NOT_FOUND', status: 404 }),
    );
    expect(res.isError).toBe(true);
    expect(res.content[0]).toMatchObject({
      type: 'text',
      text: expect.stringMatching(/^SANDBOX_NOT_FOUND \(HTTP 404\): /),
    });
    expect(toolError(new Error('boom')).content[0]).toMatchObject({ text: 'ERROR: boom' });
  });
});
